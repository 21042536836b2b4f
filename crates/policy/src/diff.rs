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

    /// Categories whose legal basis became consent: their data waits for each person's consent
    /// given under the new version.
    pub fn categories_now_on_consent(&self) -> Vec<String> {
        self.changes
            .iter()
            .filter(|c| {
                c.area == "category"
                    && c.what.starts_with("legal basis ")
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
    the_rest(old, new, &mut changes);
    PolicyDiff {
        from: old.version.clone(),
        to: new.version.clone(),
        changes,
    }
}

/// What the rules above compare and describe themselves; `[*]` stands for any element's key.
const DESCRIBED: &[&str] = &[
    "version",
    "effective",
    "category[*]",
    "category[*].field[*]",
    "category[*].legal_basis",
    "category[*].consent",
    "category[*].retention",
    "category[*].name",
    "category[*].field[*].confidential",
    "category[*].field[*].consent",
    "purpose[*]",
    "purpose[*].legal_basis",
    "purpose[*].categories",
    "retention[*]",
    "retention[*].term",
    "retention[*].anchor",
    "recipient[*]",
    "recipient[*].categories",
    "recipient[*].purposes",
    "recipient[*].anonymized_only",
    "recipient[*].countries",
    "consent[*]",
    "consent[*].required",
    "consent[*].text",
];

/// Differences a person need not hear of 30 days ahead: how to reach the data protection
/// service and when, the languages the site speaks, and how a field is stored and checked.
/// Any text (a name, a role, a ground) reworded is wording too; everything else is material.
const WORDING: &[&str] = &[
    "contact",
    "default_locale",
    "locales",
    "operator.website",
    "retention[*].key_class",
    "category[*].storage",
    "category[*].field[*].kind",
    "category[*].field[*].max_len",
    "category[*].field[*].blind_index",
    "category[*].field[*].storage",
];

/// Whether `path` is `pattern` or lies under it.
fn under(pattern: &str, path: &str) -> bool {
    let (mut p, mut q) = (pattern.split('.'), path.split('.'));
    loop {
        match (p.next(), q.next()) {
            (None, _) => return true,
            (Some(_), None) => return false,
            (Some(a), Some(b)) => {
                let same = match a.strip_suffix("[*]") {
                    Some(name) => b.starts_with(&format!("{name}[")),
                    None => a == b,
                };
                if !same {
                    return false;
                }
            }
        }
    }
}

/// A text in every language, as the policy writes one.
fn is_texts(v: &toml::Value) -> bool {
    v.as_table().is_some_and(|t| {
        !t.is_empty() && t.keys().all(|k| ["ru", "kk", "en"].contains(&k.as_str()))
    })
}

/// The key an element of a list of tables is known by.
fn element_key(v: &toml::Value) -> Option<String> {
    let t = v.as_table()?;
    ["key", "code"]
        .iter()
        .find_map(|k| t.get(*k).and_then(|v| v.as_str()).map(str::to_string))
}

fn shown(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every difference between `a` and `b` under `path`: (path, what, a text reworded).
fn walk(path: &str, a: &toml::Value, b: &toml::Value, out: &mut Vec<(String, String, bool)>) {
    let join = |k: &str| match path {
        "" => k.to_string(),
        _ => format!("{path}.{k}"),
    };
    match (a, b) {
        _ if a == b => {}
        _ if is_texts(a) && is_texts(b) => out.push((path.to_string(), "reworded".into(), true)),
        (toml::Value::Table(x), toml::Value::Table(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    Some(vb) => walk(&join(k), va, vb, out),
                    None => out.push((join(k), format!("{} removed", shown(va)), false)),
                }
            }
            for (k, vb) in y.iter().filter(|(k, _)| !x.contains_key(*k)) {
                out.push((join(k), format!("{} added", shown(vb)), false));
            }
        }
        (toml::Value::Array(x), toml::Value::Array(y))
            if x.iter().chain(y).all(|v| element_key(v).is_some()) =>
        {
            let name = path.rsplit('.').next().unwrap_or(path);
            let at = |key: &str| match path.rsplit_once('.') {
                Some((parent, _)) => format!("{parent}.{name}[{key}]"),
                None => format!("{name}[{key}]"),
            };
            for va in x {
                let key = element_key(va).unwrap_or_default();
                match y
                    .iter()
                    .find(|vb| element_key(vb).as_deref() == Some(key.as_str()))
                {
                    Some(vb) => walk(&at(&key), va, vb, out),
                    None => out.push((at(&key), "removed".into(), false)),
                }
            }
            for vb in y {
                let key = element_key(vb).unwrap_or_default();
                if !x
                    .iter()
                    .any(|va| element_key(va).as_deref() == Some(key.as_str()))
                {
                    out.push((at(&key), "added".into(), false));
                }
            }
        }
        _ => out.push((
            path.to_string(),
            format!("{} → {}", shown(a), shown(b)),
            false,
        )),
    }
}

/// Everything the rules above do not describe — contacts, countries and their adequacy, the
/// idle rule, lawful demand, what law requires to keep, sources, the operator — compared field
/// by field over the whole file, so no change goes unseen.
fn the_rest(old: &Policy, new: &Policy, changes: &mut Vec<Change>) {
    let as_value = |p: &Policy| toml::Value::try_from(p).expect("a policy serializes");
    let mut found = vec![];
    walk("", &as_value(old), &as_value(new), &mut found);
    for (path, what, reworded) in found {
        if DESCRIBED
            .iter()
            .any(|d| under(d, &path) && d.matches('.').count() == path.matches('.').count())
        {
            continue;
        }
        let wording = reworded || WORDING.iter().any(|w| under(w, &path));
        let area = path
            .split(['.', '['])
            .next()
            .unwrap_or_default()
            .to_string();
        changes.push(Change {
            area: if wording { "text".into() } else { area },
            key: path,
            what,
            material: !wording,
        });
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

    /// Issue 21 (R10.1, item 7): nothing in the file changes unseen. Office hours and a reworded
    /// role are wording, published as such; the operator, a country's adequacy, the idle rule,
    /// lawful demand and what law requires to keep are material.
    #[test]
    fn every_field_of_the_policy_is_compared_and_only_wording_is_not_material() {
        let old = shipped();
        let mut hours = old.clone();
        hours.contact.hours.closes = jiff::civil::time(19, 0, 0, 0);
        hours.recipients[0].role.en = "Processes payments".into();
        let d = diff(&old, &hours);
        assert_eq!(d.changes.len(), 2, "{:?}", d.changes);
        assert!(!d.is_material(), "{:?}", d.changes);

        let mut new = old.clone();
        new.operator.name = "Another company".into();
        new.countries[0].adequate = !new.countries[0].adequate;
        new.retention_rules[0].idle = None;
        new.recipients[0].lawful_demand_required = !new.recipients[0].lawful_demand_required;
        let kept = new
            .retention_rules
            .iter_mut()
            .find(|r| r.required_by_law)
            .unwrap();
        kept.required_by_law = false;
        let d = diff(&old, &new);
        let material: Vec<&str> = d
            .changes
            .iter()
            .filter(|c| c.material)
            .map(|c| c.key.as_str())
            .collect();
        assert_eq!(material.len(), 5, "{:?}", d.changes);
        for part in [
            "operator.name",
            ".adequate",
            ".idle",
            ".lawful_demand_required",
            ".required_by_law",
        ] {
            assert!(
                material.iter().any(|k| k.contains(part)),
                "{part} is seen: {material:?}"
            );
        }
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
