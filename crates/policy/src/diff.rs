//! What changes between two versions of the policy (R10.1): categories and their fields,
//! purposes and their bases and categories, retention, recipients, transfers abroad. A change a
//! person would need to know about before it applies is *material*: anything added, removed,
//! widened or moved to another basis or term. Only a change of wording is not.

use serde::{Deserialize, Serialize};

use crate::Policy;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// `category`, `field`, `purpose`, `basis`, `consent`, `retention`, `recipient`, `transfer`,
    /// `text`.
    pub area: String,
    pub key: String,
    pub what: String,
    pub material: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicyDiff {
    pub from: String,
    pub to: String,
    pub changes: Vec<Change>,
}

impl PolicyDiff {
    pub fn is_material(&self) -> bool {
        self.changes.iter().any(|c| c.material)
    }

    /// Purposes whose basis became consent: processing that relied on the old basis waits
    /// for each person's consent given under the new version.
    pub fn now_on_consent(&self) -> Vec<String> {
        self.changes
            .iter()
            .filter(|c| {
                c.area == "basis"
                    && c.what
                        .ends_with(&format!("→ {}", crate::LegalBasis::Consent.as_str()))
            })
            .map(|c| c.key.clone())
            .collect()
    }

    /// Purposes whose legal basis changed: processing that relied on the old basis must wait
    /// for each person's consent under the new one.
    pub fn basis_changes(&self) -> Vec<String> {
        self.changes
            .iter()
            .filter(|c| c.area == "basis")
            .map(|c| c.key.clone())
            .collect()
    }
}

fn material(changes: &mut Vec<Change>, area: &'static str, key: &str, what: String) {
    changes.push(Change {
        area: area.to_string(),
        key: key.to_string(),
        what,
        material: true,
    });
}

/// Keys in `old` but not `new`, and in `new` but not `old`.
fn added_removed<'a>(old: &[&'a str], new: &[&'a str]) -> (Vec<&'a str>, Vec<&'a str>) {
    (
        new.iter().filter(|k| !old.contains(k)).copied().collect(),
        old.iter().filter(|k| !new.contains(k)).copied().collect(),
    )
}

pub fn diff(old: &Policy, new: &Policy) -> PolicyDiff {
    let mut changes = vec![];
    let keys = |p: &Policy| -> Vec<String> { p.categories.iter().map(|c| c.key.clone()).collect() };
    let (old_keys, new_keys) = (keys(old), keys(new));
    let (added, removed) = added_removed(
        &old_keys.iter().map(String::as_str).collect::<Vec<_>>(),
        &new_keys.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    for k in added {
        material(&mut changes, "category", k, "added".into());
    }
    for k in removed {
        material(&mut changes, "category", k, "removed".into());
    }
    for new_c in &new.categories {
        let Some(old_c) = old.category(&new_c.key) else {
            continue;
        };
        let of = |c: &crate::Category| c.fields.iter().map(|f| f.key.clone()).collect::<Vec<_>>();
        let (of_old, of_new) = (of(old_c), of(new_c));
        let (added, removed) = added_removed(
            &of_old.iter().map(String::as_str).collect::<Vec<_>>(),
            &of_new.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        for f in added {
            material(
                &mut changes,
                "field",
                &format!("{}.{f}", new_c.key),
                "added".into(),
            );
        }
        for f in removed {
            material(
                &mut changes,
                "field",
                &format!("{}.{f}", new_c.key),
                "removed".into(),
            );
        }
        if old_c.legal_basis != new_c.legal_basis {
            material(
                &mut changes,
                "category",
                &new_c.key,
                format!(
                    "legal basis {} → {}",
                    old_c.legal_basis.as_str(),
                    new_c.legal_basis.as_str()
                ),
            );
        }
        if old_c.consent != new_c.consent {
            material(
                &mut changes,
                "consent",
                &new_c.key,
                format!(
                    "the category's consent {} → {}",
                    old_c.consent.as_deref().unwrap_or("none"),
                    new_c.consent.as_deref().unwrap_or("none")
                ),
            );
        }
        for new_f in &new_c.fields {
            if let Some(old_f) = old_c.fields.iter().find(|f| f.key == new_f.key)
                && (old_f.confidential, &old_f.consent) != (new_f.confidential, &new_f.consent)
            {
                material(
                    &mut changes,
                    "consent",
                    &format!("{}.{}", new_c.key, new_f.key),
                    format!(
                        "the field's consent {} → {}",
                        old_f.consent.as_deref().unwrap_or("none"),
                        new_f.consent.as_deref().unwrap_or("none")
                    ),
                );
            }
        }
        if old_c.retention != new_c.retention {
            material(
                &mut changes,
                "retention",
                &new_c.key,
                format!("rule {} → {}", old_c.retention, new_c.retention),
            );
        }
        if old_c.name != new_c.name {
            changes.push(Change {
                area: "text".into(),
                key: new_c.key.clone(),
                what: "name reworded".into(),
                material: false,
            });
        }
    }
    for new_p in &new.purposes {
        match old.purpose(&new_p.key) {
            None => material(&mut changes, "purpose", &new_p.key, "added".into()),
            Some(old_p) => {
                if old_p.legal_basis != new_p.legal_basis {
                    material(
                        &mut changes,
                        "basis",
                        &new_p.key,
                        format!(
                            "{} → {}",
                            old_p.legal_basis.as_str(),
                            new_p.legal_basis.as_str()
                        ),
                    );
                }
                let widened: Vec<&String> = new_p
                    .categories
                    .iter()
                    .filter(|c| !old_p.categories.contains(c))
                    .collect();
                if !widened.is_empty() {
                    material(
                        &mut changes,
                        "purpose",
                        &new_p.key,
                        format!(
                            "now also uses {}",
                            widened
                                .iter()
                                .map(|c| c.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
            }
        }
    }
    for old_p in &old.purposes {
        if new.purpose(&old_p.key).is_none() {
            material(&mut changes, "purpose", &old_p.key, "removed".into());
        }
    }
    for new_r in &new.retention_rules {
        match old.retention_rules.iter().find(|r| r.key == new_r.key) {
            None => material(&mut changes, "retention", &new_r.key, "added".into()),
            Some(old_r) if old_r.term != new_r.term || old_r.anchor != new_r.anchor => material(
                &mut changes,
                "retention",
                &new_r.key,
                format!("term {} → {}", old_r.term, new_r.term),
            ),
            Some(_) => {}
        }
    }
    for new_r in &new.recipients {
        match old.recipients.iter().find(|r| r.key == new_r.key) {
            None => material(&mut changes, "recipient", &new_r.key, "added".into()),
            Some(old_r) => {
                let wider = new_r
                    .categories
                    .iter()
                    .any(|c| !old_r.categories.contains(c))
                    || new_r.purposes.iter().any(|p| !old_r.purposes.contains(p))
                    || (old_r.anonymized_only && !new_r.anonymized_only);
                if wider {
                    material(
                        &mut changes,
                        "recipient",
                        &new_r.key,
                        "receives more".into(),
                    );
                }
                for country in new_r
                    .countries
                    .iter()
                    .filter(|c| !old_r.countries.contains(c))
                {
                    material(
                        &mut changes,
                        "transfer",
                        &new_r.key,
                        format!("now also to {country}"),
                    );
                }
            }
        }
    }
    // What a person agrees to is the consent's text: a new, dropped or rewritten consent to data,
    // or one that becomes required, is theirs to know before it applies.
    for new_t in &new.consents {
        let what = match old.consent_term(&new_t.key) {
            None => Some("added".to_string()),
            Some(old_t) if old_t.required != new_t.required => {
                Some(format!("required {} → {}", old_t.required, new_t.required))
            }
            Some(old_t) if old_t.text != new_t.text => Some("its text changed".to_string()),
            Some(_) => None,
        };
        if let Some(what) = what {
            material(&mut changes, "consent", &new_t.key, what);
        }
    }
    for old_t in &old.consents {
        if new.consent_term(&old_t.key).is_none() {
            material(&mut changes, "consent", &old_t.key, "removed".into());
        }
    }
    for old_r in &old.recipients {
        if !new.recipients.iter().any(|r| r.key == old_r.key) {
            changes.push(Change {
                area: "recipient".into(),
                key: old_r.key.clone(),
                what: "removed".into(),
                material: false,
            });
        }
    }
    PolicyDiff {
        from: old.version.clone(),
        to: new.version.clone(),
        changes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Policy {
        crate::load(include_str!("../../../policy/vintrova.toml")).unwrap()
    }

    #[test]
    fn the_same_policy_has_no_change_and_rewording_is_not_material() {
        let old = shipped();
        assert!(diff(&old, &old).changes.is_empty());
        let mut reworded = old.clone();
        reworded.categories[0].name.en = "Contact details".into();
        let d = diff(&old, &reworded);
        assert_eq!(d.changes.len(), 1);
        assert!(!d.is_material());
    }

    #[test]
    fn a_basis_change_a_new_recipient_country_and_a_longer_term_are_material() {
        let old = shipped();
        let mut new = old.clone();
        new.version = "next".into();
        let support = new
            .purposes
            .iter_mut()
            .find(|p| p.key == "support")
            .unwrap();
        support.legal_basis = crate::LegalBasis::Consent;
        new.recipients
            .iter_mut()
            .find(|r| r.key == "cloud_providers")
            .unwrap()
            .countries
            .push("DE".into());
        new.retention_rules[0].term = "P1Y".into();
        let d = diff(&old, &new);
        assert!(d.is_material());
        assert_eq!(d.basis_changes(), ["support"]);
        let areas: Vec<&str> = d.changes.iter().map(|c| c.area.as_str()).collect();
        assert!(
            areas.contains(&"transfer") && areas.contains(&"retention"),
            "{areas:?}"
        );
    }

    #[test]
    fn a_change_to_what_a_person_consents_to_is_material() {
        let old = shipped();
        let mut new = old.clone();
        new.consents[0]
            .text
            .ru
            .push_str(" Также для рассылок партнеров.");
        new.consents[1].required = true;
        let phone = new.categories[0]
            .fields
            .iter_mut()
            .find(|f| f.key == "phone")
            .unwrap();
        phone.consent = Some("contact_data".into());
        new.consents.pop();
        let d = diff(&old, &new);
        let consent: Vec<(&str, &str)> = d
            .changes
            .iter()
            .filter(|c| c.area == "consent")
            .map(|c| (c.key.as_str(), c.what.as_str()))
            .collect();
        assert_eq!(
            consent,
            [
                (
                    "contact.phone",
                    "the field's consent phone_number → contact_data"
                ),
                ("contact_data", "its text changed"),
                ("phone_number", "required false → true"),
                ("professional_profile", "removed"),
            ]
        );
        assert!(
            d.changes
                .iter()
                .filter(|c| c.area == "consent")
                .all(|c| c.material)
        );
    }
}
