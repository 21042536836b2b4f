//! The purpose gate: the only way to read or use personal data (R3.3).
//!
//! Ask for (subject, use); get a [`Grant`] or a [`Refusal`] that says which rule refused.
//! A grant can be built only here, and opening a sealed value needs one, so no code path can
//! decrypt without a purpose whose legal basis holds.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use vintrova_policy::{LegalBasis, Policy};

/// What the data is wanted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Use {
    /// One of the policy's purposes (R3.1).
    Purpose(String),
    /// Answering the subject's own right (R6.1); the law obliges the operator to, so it holds
    /// even while processing is restricted.
    Right(Right),
}

impl Use {
    /// The label written to the audit log.
    pub fn label(&self) -> String {
        match self {
            Use::Purpose(p) => p.clone(),
            Use::Right(r) => format!("right:{}", r.as_str()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    Access,
    Rectification,
    Erasure,
}

impl Right {
    pub fn as_str(self) -> &'static str {
        match self {
            Right::Access => "access",
            Right::Rectification => "rectification",
            Right::Erasure => "erasure",
        }
    }
}

/// A fact about the legal basis of processing one subject's data, appended, never rewritten.
/// The consent ledger (a later issue) records consents with their full evidence; the gate
/// reads them through this same event stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BasisEvent {
    pub kind: BasisEventKind,
    /// The purpose a consent or objection concerns; none for contracts and restrictions.
    pub purpose: Option<String>,
    /// Where it came from (registration form, cabinet, staff on a written request, …).
    pub channel: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum BasisEventKind {
    ConsentGranted,
    ConsentWithdrawn,
    ContractStarted,
    ContractEnded,
    Objected,
    ObjectionWithdrawn,
    Restricted,
    RestrictionLifted,
}

impl BasisEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BasisEventKind::ConsentGranted => "consent_granted",
            BasisEventKind::ConsentWithdrawn => "consent_withdrawn",
            BasisEventKind::ContractStarted => "contract_started",
            BasisEventKind::ContractEnded => "contract_ended",
            BasisEventKind::Objected => "objected",
            BasisEventKind::ObjectionWithdrawn => "objection_withdrawn",
            BasisEventKind::Restricted => "restricted",
            BasisEventKind::RestrictionLifted => "restriction_lifted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            BasisEventKind::ConsentGranted,
            BasisEventKind::ConsentWithdrawn,
            BasisEventKind::ContractStarted,
            BasisEventKind::ContractEnded,
            BasisEventKind::Objected,
            BasisEventKind::ObjectionWithdrawn,
            BasisEventKind::Restricted,
            BasisEventKind::RestrictionLifted,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Whether the event concerns one purpose (and must name it).
    pub fn needs_purpose(self) -> bool {
        matches!(
            self,
            BasisEventKind::ConsentGranted
                | BasisEventKind::ConsentWithdrawn
                | BasisEventKind::Objected
                | BasisEventKind::ObjectionWithdrawn
        )
    }
}

/// Why the gate said no. Each names the rule, so the refusal can be explained to a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("`{0}` is not a purpose of the policy")]
    UnknownPurpose(String),
    #[error("purpose `{purpose}` needs the person's consent, and none was given")]
    NoConsent { purpose: String },
    #[error("purpose `{purpose}` needs the person's consent, and it was withdrawn")]
    ConsentWithdrawn { purpose: String },
    #[error("purpose `{purpose}` needs a contract in force with the person, and there is none")]
    ContractNotInForce { purpose: String },
    #[error("purpose `{purpose}` rests on legitimate interests, and the person objected to it")]
    Objected { purpose: String },
    #[error("processing of this person's data is restricted: only storage is allowed (R6.1)")]
    Restricted,
}

/// The derived state of a subject's bases, folded from the events in order.
#[derive(Debug, Default)]
struct BasisState {
    consents: std::collections::HashMap<String, bool>,
    objections: BTreeSet<String>,
    contract: bool,
    restricted: bool,
}

impl BasisState {
    fn fold(events: &[BasisEvent]) -> Self {
        let mut s = BasisState::default();
        for e in events {
            let purpose = e.purpose.clone().unwrap_or_default();
            match e.kind {
                BasisEventKind::ConsentGranted => {
                    s.consents.insert(purpose, true);
                }
                BasisEventKind::ConsentWithdrawn => {
                    s.consents.insert(purpose, false);
                }
                BasisEventKind::ContractStarted => s.contract = true,
                BasisEventKind::ContractEnded => s.contract = false,
                BasisEventKind::Objected => {
                    s.objections.insert(purpose);
                }
                BasisEventKind::ObjectionWithdrawn => {
                    s.objections.remove(&purpose);
                }
                BasisEventKind::Restricted => s.restricted = true,
                BasisEventKind::RestrictionLifted => s.restricted = false,
            }
        }
        s
    }
}

/// Permission to open one subject's data of some categories for one use. Only [`decide`]
/// builds one; the private field keeps every other module from doing so.
#[derive(Debug, Clone)]
pub struct Grant {
    subject: Uuid,
    use_: Use,
    categories: BTreeSet<String>,
    _only_the_gate_builds_grants: (),
}

impl Grant {
    pub fn subject(&self) -> Uuid {
        self.subject
    }

    pub fn use_(&self) -> &Use {
        &self.use_
    }

    pub fn allows(&self, category: &str) -> bool {
        self.categories.contains(category)
    }

    pub fn categories(&self) -> impl Iterator<Item = &str> {
        self.categories.iter().map(String::as_str)
    }
}

/// Decide whether `use_` of the subject's data is lawful now, given its basis events.
pub fn decide(
    policy: &Policy,
    subject: Uuid,
    events: &[BasisEvent],
    use_: Use,
) -> Result<Grant, Refusal> {
    let state = BasisState::fold(events);
    let categories: BTreeSet<String> = match &use_ {
        Use::Right(_) => policy.categories.iter().map(|c| c.key.clone()).collect(),
        Use::Purpose(key) => {
            let purpose = policy
                .purpose(key)
                .ok_or_else(|| Refusal::UnknownPurpose(key.clone()))?;
            if state.restricted {
                return Err(Refusal::Restricted);
            }
            let purpose_name = || key.clone();
            match purpose.legal_basis {
                LegalBasis::Consent => match state.consents.get(key) {
                    Some(true) => {}
                    Some(false) => {
                        return Err(Refusal::ConsentWithdrawn {
                            purpose: purpose_name(),
                        });
                    }
                    None => {
                        return Err(Refusal::NoConsent {
                            purpose: purpose_name(),
                        });
                    }
                },
                LegalBasis::Contract => {
                    if !state.contract {
                        return Err(Refusal::ContractNotInForce {
                            purpose: purpose_name(),
                        });
                    }
                }
                LegalBasis::LegitimateInterest => {
                    if state.objections.contains(key) {
                        return Err(Refusal::Objected {
                            purpose: purpose_name(),
                        });
                    }
                }
                LegalBasis::LegalObligation => {}
            }
            purpose.categories.iter().cloned().collect()
        }
    };
    Ok(Grant {
        subject,
        use_,
        categories,
        _only_the_gate_builds_grants: (),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        vintrova_policy::load(include_str!("../../../policy/vintrova.toml")).unwrap()
    }

    fn event(kind: BasisEventKind, purpose: Option<&str>) -> BasisEvent {
        BasisEvent {
            kind,
            purpose: purpose.map(str::to_string),
            channel: "test".into(),
            at: Timestamp::UNIX_EPOCH,
        }
    }

    fn purpose(p: &str) -> Use {
        Use::Purpose(p.into())
    }

    #[test]
    fn consent_purposes_need_a_living_consent() {
        let p = policy();
        let id = Uuid::nil();
        assert_eq!(
            decide(&p, id, &[], purpose("notifications")).unwrap_err(),
            Refusal::NoConsent {
                purpose: "notifications".into()
            }
        );
        let granted = [event(BasisEventKind::ConsentGranted, Some("notifications"))];
        let grant = decide(&p, id, &granted, purpose("notifications")).unwrap();
        assert!(grant.allows("contact") && !grant.allows("payment"));
        let withdrawn = [
            granted[0].clone(),
            event(BasisEventKind::ConsentWithdrawn, Some("notifications")),
        ];
        assert_eq!(
            decide(&p, id, &withdrawn, purpose("notifications")).unwrap_err(),
            Refusal::ConsentWithdrawn {
                purpose: "notifications".into()
            }
        );
    }

    #[test]
    fn contract_purposes_need_a_contract_in_force() {
        let p = policy();
        let id = Uuid::nil();
        assert!(matches!(
            decide(&p, id, &[], purpose("payments")),
            Err(Refusal::ContractNotInForce { .. })
        ));
        let started = [event(BasisEventKind::ContractStarted, None)];
        assert!(decide(&p, id, &started, purpose("payments")).is_ok());
        let ended = [
            started[0].clone(),
            event(BasisEventKind::ContractEnded, None),
        ];
        assert!(matches!(
            decide(&p, id, &ended, purpose("payments")),
            Err(Refusal::ContractNotInForce { .. })
        ));
    }

    #[test]
    fn legitimate_interests_stop_at_an_objection() {
        let p = policy();
        let id = Uuid::nil();
        assert!(decide(&p, id, &[], purpose("security")).is_ok());
        let objected = [event(BasisEventKind::Objected, Some("security"))];
        assert!(matches!(
            decide(&p, id, &objected, purpose("security")),
            Err(Refusal::Objected { .. })
        ));
    }

    #[test]
    fn a_restriction_blocks_every_purpose_but_not_the_persons_rights() {
        let p = policy();
        let id = Uuid::nil();
        let events = [
            event(BasisEventKind::ContractStarted, None),
            event(BasisEventKind::Restricted, None),
        ];
        assert_eq!(
            decide(&p, id, &events, purpose("security")).unwrap_err(),
            Refusal::Restricted
        );
        assert_eq!(
            decide(&p, id, &events, purpose("payments")).unwrap_err(),
            Refusal::Restricted
        );
        assert!(decide(&p, id, &events, Use::Right(Right::Access)).is_ok());
    }

    #[test]
    fn unknown_purposes_are_refused() {
        assert_eq!(
            decide(&policy(), Uuid::nil(), &[], purpose("marketing")).unwrap_err(),
            Refusal::UnknownPurpose("marketing".into())
        );
    }
}
