//! Disclosures (R5.1, R5.2, R5.4, R9.1): the only way data leaves Vintrova. A disclosure names
//! the recipient (from the policy's register), where the data goes, whose data or which
//! population, the categories, the purpose and the legal ground. Anything outside the
//! recipient's allowance is refused with the reason; a state body's demand needs its legal
//! reference; a recipient that may receive only anonymized data receives nothing else; data goes
//! abroad only to a country the policy marks adequate. Every disclosure is logged in a ledger and
//! appears in the person's "information" answer; every recipient's confidentiality agreement is
//! on record before anything goes to it.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::audit::Action;
use crate::values::{InvalidInput, looks_personal};
use crate::{Actor, CoreError, Result, Vintrova};

const DISCLOSURES: &str = "disclosures";
const AGREEMENTS: &str = "recipient_agreements";

/// What a caller asks to disclose.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisclosureRequest {
    /// A recipient key of the policy (`payment_systems`, `state_bodies`, …).
    pub recipient: String,
    /// Where the data goes (ISO 3166 code); one of the recipient's countries.
    pub country: String,
    /// The people whose data goes; empty for an anonymized population.
    #[serde(default)]
    pub subjects: Vec<Uuid>,
    pub categories: Vec<String>,
    pub purpose: String,
    /// The legal ground, in words a regulator reads (a contract clause, a law's article).
    pub legal_ground: String,
    /// For a lawful demand: the demand's registration number and date.
    #[serde(default)]
    pub legal_reference: Option<String>,
    /// The data is anonymized: only the analytics release that made it says so, having checked
    /// it; a caller cannot (the field is not part of what the API takes).
    #[serde(skip)]
    pub anonymized: bool,
}

/// Why a disclosure was refused: the rule, in words that say what would allow it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisclosureRefusal {
    #[error("`{0}` is not a recipient of the policy")]
    UnknownRecipient(String),
    #[error(
        "the recipient `{recipient}` may not receive the category `{category}`; the policy allows it {allowed}"
    )]
    CategoryNotAllowed {
        recipient: String,
        category: String,
        allowed: String,
    },
    #[error("the recipient `{recipient}` may not receive data for the purpose `{purpose}`")]
    PurposeNotAllowed { recipient: String, purpose: String },
    #[error("the recipient `{recipient}` is not registered in the country `{country}`")]
    CountryNotListed { recipient: String, country: String },
    #[error(
        "data may not go to `{0}`: the policy does not mark it a country with adequate protection (R9.1)"
    )]
    CountryNotAdequate(String),
    #[error(
        "the recipient `{0}` may receive only anonymized data; use the anonymized analytics export"
    )]
    NotAnonymized(String),
    #[error(
        "a disclosure to a state body needs the legal reference of its demand (its number and date)"
    )]
    NoLegalReference,
    #[error(
        "no signed confidentiality agreement with `{0}` is on record; record it before anything goes to them"
    )]
    NoAgreement(String),
    #[error(
        "named people's data may go to `{recipient}` in `{country}` only under planned transfers covering every category sent, whose day has come and of which they were told (R9.2)"
    )]
    TransferNotAnnounced { recipient: String, country: String },
}

impl DisclosureRefusal {
    pub fn rule(&self) -> &'static str {
        match self {
            DisclosureRefusal::UnknownRecipient(_) => "unknown_recipient",
            DisclosureRefusal::CategoryNotAllowed { .. } => "category_not_allowed",
            DisclosureRefusal::PurposeNotAllowed { .. } => "purpose_not_allowed",
            DisclosureRefusal::CountryNotListed { .. } => "country_not_listed",
            DisclosureRefusal::CountryNotAdequate(_) => "country_not_adequate",
            DisclosureRefusal::NotAnonymized(_) => "not_anonymized",
            DisclosureRefusal::NoLegalReference => "no_legal_reference",
            DisclosureRefusal::NoAgreement(_) => "no_agreement",
            DisclosureRefusal::TransferNotAnnounced { .. } => "transfer_not_announced",
        }
    }
}

/// A disclosure as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Disclosure {
    pub id: Uuid,
    pub recipient: String,
    pub country: String,
    pub subjects: Vec<Uuid>,
    pub categories: Vec<String>,
    pub purpose: String,
    pub legal_ground: String,
    pub legal_reference: Option<String>,
    pub anonymized: bool,
    /// Outside the operator's country: a cross-border transfer.
    pub cross_border: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub actor: String,
}

/// A recipient's signed confidentiality agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agreement {
    pub recipient: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub signed_on: Date,
    pub reference: String,
}

/// A recipient of the register with what it may receive and its agreement.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisteredRecipient {
    pub key: String,
    pub countries: Vec<String>,
    pub categories: Vec<String>,
    pub purposes: Vec<String>,
    pub anonymized_only: bool,
    pub lawful_demand_required: bool,
    pub agreement: Option<Agreement>,
}

/// The rules a disclosure must pass, in the order a refusal names them: the recipient is in
/// the register; the categories and the purpose are within its allowance; the country is one of
/// its own and has adequate protection; anonymized-only recipients get only anonymized data; a
/// state body's demand carries its legal reference; everyone else has signed the agreement.
pub fn check(
    policy: &vintrova_policy::Policy,
    request: &DisclosureRequest,
    agreement_on_record: bool,
) -> std::result::Result<(), DisclosureRefusal> {
    let Some(recipient) = policy
        .recipients
        .iter()
        .find(|r| r.key == request.recipient)
    else {
        return Err(DisclosureRefusal::UnknownRecipient(
            request.recipient.clone(),
        ));
    };
    if let Some(category) = request
        .categories
        .iter()
        .find(|c| !recipient.categories.contains(c))
    {
        return Err(DisclosureRefusal::CategoryNotAllowed {
            recipient: recipient.key.clone(),
            category: category.clone(),
            allowed: recipient.categories.join(", "),
        });
    }
    if !recipient.purposes.contains(&request.purpose) {
        return Err(DisclosureRefusal::PurposeNotAllowed {
            recipient: recipient.key.clone(),
            purpose: request.purpose.clone(),
        });
    }
    if !recipient.countries.contains(&request.country) {
        return Err(DisclosureRefusal::CountryNotListed {
            recipient: recipient.key.clone(),
            country: request.country.clone(),
        });
    }
    if !policy
        .countries
        .iter()
        .any(|c| c.code == request.country && c.adequate)
    {
        return Err(DisclosureRefusal::CountryNotAdequate(
            request.country.clone(),
        ));
    }
    if recipient.anonymized_only && (!request.anonymized || !request.subjects.is_empty()) {
        return Err(DisclosureRefusal::NotAnonymized(recipient.key.clone()));
    }
    if recipient.lawful_demand_required {
        if request
            .legal_reference
            .as_deref()
            .is_none_or(|r| r.trim().is_empty())
        {
            return Err(DisclosureRefusal::NoLegalReference);
        }
    } else if !agreement_on_record {
        return Err(DisclosureRefusal::NoAgreement(recipient.key.clone()));
    }
    Ok(())
}

/// The ledger entity of a recipient: a stable id from its key.
fn recipient_entity(key: &str) -> Uuid {
    let digest = Sha256::digest(format!("recipient:{key}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

impl Vintrova {
    /// Record a recipient's signed confidentiality agreement.
    pub async fn record_agreement(&self, actor: &Actor, agreement: Agreement) -> Result<Agreement> {
        let mut problems = InvalidInput::default();
        if self
            .policy()
            .recipients
            .iter()
            .all(|r| r.key != agreement.recipient)
        {
            problems.push(
                "recipient",
                format!("`{}` is not a recipient of the policy", agreement.recipient),
                "a recipient key of policy/vintrova.toml",
            );
        }
        let today = self.now().to_zoned_datetime(self.policy().zone()).date();
        if agreement.signed_on > today {
            problems.push("signed_on", "is in the future", "the day it was signed");
        }
        let reference = agreement.reference.trim();
        if reference.is_empty() || reference.chars().count() > 100 || looks_personal(reference) {
            problems.push(
                "reference",
                "empty, too long, or carries an address or a personal number",
                "the contract's number, 1 to 100 characters",
            );
        }
        problems.into_result()?;
        let agreement = Agreement {
            reference: reference.to_string(),
            ..agreement
        };
        self.append_ledger(
            actor,
            (AGREEMENTS, recipient_entity(&agreement.recipient)),
            &agreement,
            Action::RecordAgreement,
            vec![],
        )
        .await?;
        Ok(agreement)
    }

    /// The register: each recipient of the policy with its allowance and latest agreement.
    pub async fn recipients(&self) -> Result<Vec<RegisteredRecipient>> {
        let agreements = self.ledger(AGREEMENTS, None).await?;
        let mut out = vec![];
        for r in &self.policy().recipients {
            let entity = recipient_entity(&r.key);
            let agreement = agreements
                .iter()
                .rfind(|e| e.entity == entity)
                .map(|e| e.body::<Agreement>())
                .transpose()?;
            out.push(RegisteredRecipient {
                key: r.key.clone(),
                countries: r.countries.clone(),
                categories: r.categories.clone(),
                purposes: r.purposes.clone(),
                anonymized_only: r.anonymized_only,
                lawful_demand_required: r.lawful_demand_required,
                agreement,
            });
        }
        Ok(out)
    }

    /// Check a disclosure against the register and the law, without recording it.
    pub async fn check_disclosure(&self, request: &DisclosureRequest) -> Result<()> {
        let agreement_on_record = self
            .recipients()
            .await?
            .iter()
            .any(|r| r.key == request.recipient && r.agreement.is_some());
        check(self.policy(), request, agreement_on_record).map_err(CoreError::Disclosure)
    }

    /// Disclose: checked, then logged with its audit entry — one per person for named people, so
    /// each finds it in their own log.
    pub async fn disclose(&self, actor: &Actor, request: DisclosureRequest) -> Result<Disclosure> {
        let mut problems = InvalidInput::default();
        if request.legal_ground.trim().is_empty() || looks_personal(&request.legal_ground) {
            problems.push(
                "legal_ground",
                "empty, or carries an address or a personal number",
                "the legal ground in words: a contract clause, a law's article",
            );
        }
        if let Some(reference) = &request.legal_reference
            && looks_personal(reference)
        {
            problems.push(
                "legal_reference",
                "carries an address or a personal number",
                "the demand's registration number and date",
            );
        }
        if request.categories.is_empty() {
            problems.push("categories", "none named", "the categories that leave");
        }
        for (i, subject) in request.subjects.iter().enumerate() {
            if self.store().subject(*subject).await?.is_none() {
                problems.push(
                    format!("subjects[{i}]"),
                    "no such subject",
                    "the id of a person held by Vintrova",
                );
            }
        }
        problems.into_result()?;
        self.check_disclosure(&request).await?;
        if !request.anonymized
            && !request.subjects.is_empty()
            && !self
                .transfer_in_force(&request.recipient, &request.country, &request.categories)
                .await?
        {
            return Err(CoreError::Disclosure(
                DisclosureRefusal::TransferNotAnnounced {
                    recipient: request.recipient.clone(),
                    country: request.country.clone(),
                },
            ));
        }
        let operator_country = &self.policy().operator.country;
        let disclosure = Disclosure {
            id: Uuid::now_v7(),
            cross_border: &request.country != operator_country,
            recipient: request.recipient,
            country: request.country,
            subjects: request.subjects,
            categories: request.categories,
            purpose: request.purpose,
            legal_ground: request.legal_ground.trim().to_string(),
            legal_reference: request.legal_reference.map(|r| r.trim().to_string()),
            anonymized: request.anonymized,
            at: self.now(),
            actor: actor.as_str().to_string(),
        };
        self.append_ledger(
            actor,
            (DISCLOSURES, disclosure.id),
            &disclosure,
            Action::Disclose,
            disclosure.categories.clone(),
        )
        .await?;
        for subject in &disclosure.subjects {
            let audit = self.draft(
                actor,
                Action::Disclose,
                Some(*subject),
                disclosure.categories.clone(),
                Some(disclosure.purpose.clone()),
            );
            self.log(audit).await?;
        }
        Ok(disclosure)
    }

    /// The disclosure log: everything, or what concerned one person.
    pub async fn disclosures(&self, subject: Option<Uuid>) -> Result<Vec<Disclosure>> {
        let mut all = vec![];
        for entry in self.ledger(DISCLOSURES, None).await? {
            let d: Disclosure = entry.body()?;
            if subject.is_none_or(|s| d.subjects.contains(&s)) {
                all.push(d);
            }
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> vintrova_policy::Policy {
        crate::shipped_policy()
    }

    fn to(recipient: &str, country: &str, categories: &[&str], purpose: &str) -> DisclosureRequest {
        DisclosureRequest {
            recipient: recipient.into(),
            country: country.into(),
            subjects: vec![Uuid::nil()],
            categories: categories.iter().map(|c| c.to_string()).collect(),
            purpose: purpose.into(),
            legal_ground: "Contract, clause 4.2".into(),
            ..Default::default()
        }
    }

    #[test]
    fn every_rule_refuses_with_its_reason() {
        let p = policy();
        let pay = to("payment_systems", "KZ", &["contact", "payment"], "payments");
        assert_eq!(check(&p, &pay, true), Ok(()));
        assert_eq!(
            check(&p, &pay, false),
            Err(DisclosureRefusal::NoAgreement("payment_systems".into()))
        );
        let education = to(
            "payment_systems",
            "KZ",
            &["contact", "education"],
            "payments",
        );
        assert!(matches!(
            check(&p, &education, true),
            Err(DisclosureRefusal::CategoryNotAllowed { category, .. }) if category == "education"
        ));
        let wrong_purpose = to("payment_systems", "KZ", &["contact"], "support");
        assert!(matches!(
            check(&p, &wrong_purpose, true),
            Err(DisclosureRefusal::PurposeNotAllowed { .. })
        ));
        let elsewhere = to("payment_systems", "DE", &["contact"], "payments");
        assert!(matches!(
            check(&p, &elsewhere, true),
            Err(DisclosureRefusal::CountryNotListed { .. })
        ));
        let named = to("analytics_services", "DE", &["usage"], "learning_analytics");
        assert_eq!(
            check(&p, &named, true),
            Err(DisclosureRefusal::NotAnonymized(
                "analytics_services".into()
            ))
        );
        let anonymized = DisclosureRequest {
            subjects: vec![],
            anonymized: true,
            ..named
        };
        assert_eq!(check(&p, &anonymized, true), Ok(()));
        let demand = to("state_bodies", "KZ", &["payment"], "payments");
        assert_eq!(
            check(&p, &demand, false),
            Err(DisclosureRefusal::NoLegalReference)
        );
        let referenced = DisclosureRequest {
            legal_reference: Some("Demand 12-3/457 of 2026-11-20".into()),
            ..demand
        };
        assert_eq!(
            check(&p, &referenced, false),
            Ok(()),
            "a lawful demand needs no agreement"
        );
    }

    #[test]
    fn a_transfer_to_a_country_without_adequate_protection_is_refused() {
        let mut p = policy();
        p.countries
            .iter_mut()
            .find(|c| c.code == "DE")
            .unwrap()
            .adequate = false;
        let anonymized = DisclosureRequest {
            subjects: vec![],
            anonymized: true,
            ..to("analytics_services", "DE", &["usage"], "learning_analytics")
        };
        assert_eq!(
            check(&p, &anonymized, true),
            Err(DisclosureRefusal::CountryNotAdequate("DE".into()))
        );
    }
}
