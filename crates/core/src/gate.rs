//! The purpose gate: the only way to read or use personal data (R3.3).
//!
//! Ask for (subject, use); get a [`Grant`] or a [`Refusal`] that says which rule refused.
//! A grant can be built only here, and opening a sealed value needs one, so no code path can
//! decrypt without a purpose whose legal basis holds.

use crate::requests::{Request, RequestState};
use crate::rights::RightKind;
use crate::words::words;
use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use vintrova_policy::{LegalBasis, Policy};

use crate::consent::{self, ConsentAction, ConsentEvent};

/// What the data is wanted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Use {
    /// One of the policy's purposes (R3.1).
    Purpose(String),
    /// Answering the person's own right (R6.1) on their verified request or in their own
    /// signed-in session; the law obliges the operator to, so it holds even while processing
    /// is restricted. Only core builds a [`RightClaim`], from a request or a session it read.
    Right(RightClaim),
    /// A duty the law puts on the operator toward the person, which no consent or objection
    /// can stop; it reaches only the categories the duty needs.
    Duty(Duty),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Duty {
    /// Telling a person that an incident affected their data (R7.9): their address only.
    BreachNotice,
    /// Telling a person the policy will change (R10.1): their address only.
    PolicyNotice,
    /// Telling a person their data will go abroad (R9.2): their address only.
    TransferNotice,
    /// Sending a person the receipt of their data's erasure (R8.2): their address only.
    ErasureReceipt,
    /// Answering a person's rights request — its code, acknowledgement, answer — at their
    /// address (R6.2): the address only, never the data the request is about.
    RequestAnswer(Uuid),
    /// The monthly digest of who looked, which the person subscribed to: their address only.
    AccessDigest,
    /// Staff responding to an incident (R7.9) that affected this person: the categories the
    /// incident affected, no more.
    IncidentResponse {
        incident: Uuid,
        categories: Vec<String>,
    },
    /// Staff working on a legal claim under a hold on this person's data: the categories the
    /// hold keeps.
    LegalClaim { hold: Uuid, categories: Vec<String> },
}

impl Duty {
    pub fn as_str(&self) -> &'static str {
        match self {
            Duty::BreachNotice => "breach_notice",
            Duty::PolicyNotice => "policy_notice",
            Duty::TransferNotice => "transfer_notice",
            Duty::ErasureReceipt => "erasure_receipt",
            Duty::RequestAnswer(_) => "request_answer",
            Duty::AccessDigest => "access_digest",
            Duty::IncidentResponse { .. } => "incident_response",
            Duty::LegalClaim { .. } => "legal_claim",
        }
    }

    /// The record the duty serves, written to the audit log with it.
    fn reference(&self) -> Option<String> {
        match self {
            Duty::RequestAnswer(id) => Some(format!("request:{id}")),
            Duty::IncidentResponse { incident, .. } => Some(format!("incident:{incident}")),
            Duty::LegalClaim { hold, .. } => Some(format!("hold:{hold}")),
            _ => None,
        }
    }

    fn categories(&self) -> Vec<String> {
        match self {
            Duty::BreachNotice
            | Duty::PolicyNotice
            | Duty::TransferNotice
            | Duty::ErasureReceipt
            | Duty::RequestAnswer(_)
            | Duty::AccessDigest => vec![ADDRESS_CATEGORY.to_string()],
            Duty::IncidentResponse { categories, .. } | Duty::LegalClaim { categories, .. } => {
                categories.clone()
            }
        }
    }
}

/// The category the address a duty writes to belongs to.
pub(crate) const ADDRESS_CATEGORY: &str = "contact";

impl Use {
    /// The label written to the audit log: the use granted and what it was granted on.
    pub fn label(&self) -> String {
        match self {
            Use::Purpose(p) => p.clone(),
            Use::Right(claim) => claim.label(),
            Use::Duty(d) => match d.reference() {
                Some(on) => format!("duty:{}@{on}", d.as_str()),
                None => format!("duty:{}", d.as_str()),
            },
        }
    }
}

/// On whose word a right is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answering {
    /// The person's request, verified (a code came back, or it was filed signed in).
    Request(Uuid),
    /// The person themself, signed in, looking at their own data.
    Session,
}

/// The one way to a [`Use::Right`]: the person's verified request or their own session.
/// Its fields are private and its constructors belong to core, so neither the web nor the
/// binary can claim a right for someone; staff and the platform read through purposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RightClaim {
    right: RightKind,
    subject: Uuid,
    on: Answering,
}

impl RightClaim {
    /// A claim on the person's request: verified, and a right whose answer is their data.
    pub(crate) fn of_request(request: &Request) -> Result<Self, Refusal> {
        if request.state != RequestState::Verified {
            return Err(Refusal::RequestNotVerified {
                request: request.id,
                state: request.state.as_str(),
            });
        }
        if !matches!(
            request.right,
            RightKind::Access | RightKind::Information | RightKind::Rectification
        ) {
            return Err(Refusal::RightOpensNoData {
                right: request.right.as_str(),
            });
        }
        Ok(RightClaim {
            right: request.right,
            subject: request.subject,
            on: Answering::Request(request.id),
        })
    }

    /// The person in their own session: `subject` is what the session resolved to.
    pub(crate) fn own_session(subject: Uuid) -> Self {
        RightClaim {
            right: RightKind::Access,
            subject,
            on: Answering::Session,
        }
    }

    pub fn on(&self) -> Answering {
        self.on
    }

    fn label(&self) -> String {
        match self.on {
            Answering::Request(id) => format!("right:{}@request:{id}", self.right.as_str()),
            Answering::Session => format!("right:{}@session", self.right.as_str()),
        }
    }
}

/// Purposes whose basis became consent in a published version (R10.1): for each, the version
/// it moved in and the versions a consent must have been given under to count.
#[derive(Debug, Clone, Default)]
pub struct Renewals(BTreeMap<String, (String, Vec<String>)>);

impl Renewals {
    pub(crate) fn insert(&mut self, purpose: String, since: String, versions: Vec<String>) {
        self.0.insert(purpose, (since, versions));
    }

    /// Refuses a consent purpose whose last consent predates its move onto consent.
    fn check(&self, purpose: &str, consents: &[ConsentEvent]) -> Result<(), Refusal> {
        let Some((since, versions)) = self.0.get(purpose) else {
            return Ok(());
        };
        let renewed = consents
            .iter()
            .rfind(|c| c.purpose == purpose)
            .is_some_and(|c| versions.contains(&c.policy_version));
        if renewed {
            Ok(())
        } else {
            Err(Refusal::ConsentToRenew {
                purpose: purpose.to_string(),
                since: since.clone(),
            })
        }
    }
}

/// Everything the gate weighs about one person: their basis events and consent ledger.
#[derive(Debug, Clone, Copy)]
pub struct Ledgers<'a> {
    pub bases: &'a [BasisEvent],
    pub consents: &'a [ConsentEvent],
}

/// A fact about the legal basis of processing one subject's data, appended, never rewritten:
/// contracts, objections and restrictions. Consents have their own ledger (`consent`).
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
    ContractStarted,
    ContractEnded,
    Objected,
    ObjectionWithdrawn,
    Restricted,
    RestrictionLifted,
}

impl BasisEventKind {
    /// Whether the event concerns one purpose (and must name it).
    pub fn needs_purpose(self) -> bool {
        matches!(
            self,
            BasisEventKind::Objected | BasisEventKind::ObjectionWithdrawn
        )
    }
}

words!(BasisEventKind {
    ContractStarted => "contract_started",
    ContractEnded => "contract_ended",
    Objected => "objected",
    ObjectionWithdrawn => "objection_withdrawn",
    Restricted => "restricted",
    RestrictionLifted => "restriction_lifted",
});

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
    #[error("the person objected to purpose `{purpose}`")]
    Objected { purpose: String },
    #[error("processing of this person's data is restricted: only storage is allowed (R6.1)")]
    Restricted,
    #[error(
        "purpose `{purpose}` now rests on consent (policy {since}); it waits until the person consents under it"
    )]
    ConsentToRenew { purpose: String, since: String },
    #[error(
        "a full copy of a person's data answers their own verified access request or their own signed-in session; name the verified request it answers"
    )]
    NoAccessRequest,
    #[error(
        "request {request} is {state}: nothing is disclosed before the person proves control of their address"
    )]
    RequestNotVerified { request: Uuid, state: &'static str },
    #[error(
        "a `{right}` request opens no data; only information, access and rectification requests do"
    )]
    RightOpensNoData { right: &'static str },
    #[error("the request or session is another person's, not this subject's")]
    NotTheirClaim,
    #[error("{reference} does not concern this person, or is no longer open: {why}")]
    DutyNotOpen {
        reference: String,
        why: &'static str,
    },
}

impl Refusal {
    /// The rule's name, for machines (problem details, reports).
    pub fn rule(&self) -> &'static str {
        match self {
            Refusal::UnknownPurpose(_) => "unknown_purpose",
            Refusal::NoConsent { .. } => "no_consent",
            Refusal::ConsentWithdrawn { .. } => "consent_withdrawn",
            Refusal::ContractNotInForce { .. } => "contract_not_in_force",
            Refusal::Objected { .. } => "objected",
            Refusal::Restricted => "restricted",
            Refusal::ConsentToRenew { .. } => "consent_to_renew",
            Refusal::NoAccessRequest => "no_access_request",
            Refusal::RequestNotVerified { .. } => "request_not_verified",
            Refusal::RightOpensNoData { .. } => "right_opens_no_data",
            Refusal::NotTheirClaim => "not_their_claim",
            Refusal::DutyNotOpen { .. } => "duty_not_open",
        }
    }
}

/// The derived state of a subject's bases, folded from the events in order.
#[derive(Debug, Default)]
struct BasisState {
    consents: std::collections::BTreeMap<String, ConsentAction>,
    objections: BTreeSet<String>,
    contract: bool,
    restricted: bool,
}

impl BasisState {
    fn fold(events: &[BasisEvent], consents: &[ConsentEvent]) -> Self {
        let mut s = BasisState {
            consents: consent::current(consents),
            ..BasisState::default()
        };
        for e in events {
            let purpose = e.purpose.clone().unwrap_or_default();
            match e.kind {
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

/// Decide whether `use_` of the subject's data is lawful now, given its ledgers and the
/// policy's renewals. The one place a use is decided: every read, copy, notice and recorded
/// event asks here. An objection to a purpose refuses it whatever its basis (R6.1: objection
/// to direct marketing stops notifications even with a consent on record).
pub fn decide(
    policy: &Policy,
    renewals: &Renewals,
    subject: Uuid,
    ledgers: Ledgers<'_>,
    use_: Use,
) -> Result<Grant, Refusal> {
    let consents = ledgers.consents;
    let state = BasisState::fold(ledgers.bases, consents);
    let categories: BTreeSet<String> = match &use_ {
        Use::Right(claim) => {
            if claim.subject != subject {
                return Err(Refusal::NotTheirClaim);
            }
            policy.categories.iter().map(|c| c.key.clone()).collect()
        }
        Use::Duty(duty) => duty.categories().into_iter().collect(),
        Use::Purpose(key) => {
            let purpose = policy
                .purpose(key)
                .ok_or_else(|| Refusal::UnknownPurpose(key.clone()))?;
            if state.restricted {
                return Err(Refusal::Restricted);
            }
            if state.objections.contains(key) {
                return Err(Refusal::Objected {
                    purpose: key.clone(),
                });
            }
            let purpose_name = || key.clone();
            match purpose.legal_basis {
                LegalBasis::Consent => match state.consents.get(key) {
                    Some(ConsentAction::Granted) => renewals.check(key, consents)?,
                    Some(ConsentAction::Withdrawn) => {
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
                // Holds unless objected to, which was checked above.
                LegalBasis::LegitimateInterest | LegalBasis::LegalObligation => {}
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
    use crate::consent::{Channel, terms};

    fn policy() -> Policy {
        vintrova_policy::load(include_str!("../../../policy/vintrova.toml")).unwrap()
    }

    fn basis(kind: BasisEventKind, purpose: Option<&str>) -> BasisEvent {
        BasisEvent {
            kind,
            purpose: purpose.map(str::to_string),
            channel: "test".into(),
            at: Timestamp::UNIX_EPOCH,
        }
    }

    fn consent(p: &Policy, purpose: &str, action: ConsentAction) -> ConsentEvent {
        ConsentEvent {
            purpose: purpose.into(),
            action,
            policy_version: p.version.clone(),
            channel: Channel::Form,
            evidence: None,
            terms: terms(p, purpose),
            at: Timestamp::UNIX_EPOCH,
        }
    }

    /// The states a person's bases can be in, for one purpose.
    #[derive(Debug, Clone, Copy)]
    enum State {
        Nothing,
        ConsentGiven,
        ConsentWithdrawn,
        ContractActive,
        ContractEnded,
        Objection,
        Restricted,
    }

    const STATES: [State; 7] = [
        State::Nothing,
        State::ConsentGiven,
        State::ConsentWithdrawn,
        State::ContractActive,
        State::ContractEnded,
        State::Objection,
        State::Restricted,
    ];

    fn events(p: &Policy, purpose: &str, state: State) -> (Vec<BasisEvent>, Vec<ConsentEvent>) {
        use BasisEventKind::*;
        match state {
            State::Nothing => (vec![], vec![]),
            State::ConsentGiven => (vec![], vec![consent(p, purpose, ConsentAction::Granted)]),
            State::ConsentWithdrawn => (
                vec![],
                vec![
                    consent(p, purpose, ConsentAction::Granted),
                    consent(p, purpose, ConsentAction::Withdrawn),
                ],
            ),
            State::ContractActive => (vec![basis(ContractStarted, None)], vec![]),
            State::ContractEnded => (
                vec![basis(ContractStarted, None), basis(ContractEnded, None)],
                vec![],
            ),
            State::Objection => (vec![basis(Objected, Some(purpose))], vec![]),
            // Restricted while every other basis holds: the restriction alone must refuse.
            State::Restricted => (
                vec![basis(ContractStarted, None), basis(Restricted, None)],
                vec![consent(p, purpose, ConsentAction::Granted)],
            ),
        }
    }

    /// The expected answer, written out per basis rather than derived from the code under test.
    fn expected(basis: LegalBasis, state: State, purpose: &str) -> Result<(), Refusal> {
        let p = || purpose.to_string();
        use LegalBasis::*;
        match (basis, state) {
            (_, State::Restricted) => Err(Refusal::Restricted),
            (_, State::Objection) => Err(Refusal::Objected { purpose: p() }),
            (Consent, State::ConsentGiven) => Ok(()),
            (Consent, State::ConsentWithdrawn) => Err(Refusal::ConsentWithdrawn { purpose: p() }),
            (Consent, _) => Err(Refusal::NoConsent { purpose: p() }),
            (Contract, State::ContractActive) => Ok(()),
            (Contract, _) => Err(Refusal::ContractNotInForce { purpose: p() }),
            (LegitimateInterest, _) => Ok(()),
            (LegalObligation, _) => Ok(()),
        }
    }

    #[test]
    fn every_purpose_in_every_basis_state_gets_the_right_answer_and_reason() {
        let p = policy();
        let bases: Vec<(&str, LegalBasis)> = p
            .purposes
            .iter()
            .map(|x| (x.key.as_str(), x.legal_basis))
            .collect();
        use LegalBasis::*;
        assert_eq!(
            bases,
            [
                ("education_access", Contract),
                ("personalization", Contract),
                ("support", Contract),
                ("payments", Contract),
                ("notifications", Consent),
                ("learning_analytics", Consent),
                ("security", LegitimateInterest),
            ],
            "the policy's purposes and bases (R3.1, R3.2)"
        );
        let mut checked = 0;
        for (purpose, basis) in bases {
            for state in STATES {
                let (events, consents) = events(&p, purpose, state);
                let answer = decide(
                    &p,
                    &Renewals::default(),
                    Uuid::nil(),
                    Ledgers {
                        bases: &events,
                        consents: &consents,
                    },
                    Use::Purpose(purpose.into()),
                );
                match (answer, expected(basis, state, purpose)) {
                    (Ok(grant), Ok(())) => {
                        let categories: Vec<&str> = grant.categories().collect();
                        let mut declared: Vec<&str> = p
                            .purpose(purpose)
                            .unwrap()
                            .categories
                            .iter()
                            .map(String::as_str)
                            .collect();
                        declared.sort();
                        assert_eq!(
                            categories, declared,
                            "{purpose} in {state:?}: the grant opens exactly the purpose's categories"
                        );
                    }
                    (Err(got), Err(want)) => assert_eq!(got, want, "{purpose} in {state:?}"),
                    (got, want) => panic!(
                        "{purpose} in {state:?}: got {:?}, want {want:?}",
                        got.map(|_| ())
                    ),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 7 * 7);
    }

    #[test]
    fn a_consent_to_one_purpose_does_not_cover_another() {
        let p = policy();
        let consents = [consent(&p, "notifications", ConsentAction::Granted)];
        assert_eq!(
            decide(
                &p,
                &Renewals::default(),
                Uuid::nil(),
                Ledgers {
                    bases: &[],
                    consents: &consents
                },
                Use::Purpose("learning_analytics".into())
            )
            .unwrap_err(),
            Refusal::NoConsent {
                purpose: "learning_analytics".into()
            }
        );
    }

    #[test]
    fn a_restriction_never_blocks_the_persons_own_rights_and_can_be_lifted() {
        let p = policy();
        let restricted = [basis(BasisEventKind::Restricted, None)];
        assert!(
            decide(
                &p,
                &Renewals::default(),
                Uuid::nil(),
                Ledgers {
                    bases: &restricted,
                    consents: &[]
                },
                Use::Right(RightClaim::own_session(Uuid::nil()))
            )
            .is_ok()
        );
        let lifted = [
            restricted[0].clone(),
            basis(BasisEventKind::RestrictionLifted, None),
        ];
        assert!(
            decide(
                &p,
                &Renewals::default(),
                Uuid::nil(),
                Ledgers {
                    bases: &lifted,
                    consents: &[]
                },
                Use::Purpose("security".into())
            )
            .is_ok()
        );
    }

    #[test]
    fn unknown_purposes_are_refused() {
        assert_eq!(
            decide(
                &policy(),
                &Renewals::default(),
                Uuid::nil(),
                Ledgers {
                    bases: &[],
                    consents: &[]
                },
                Use::Purpose("marketing".into())
            )
            .unwrap_err(),
            Refusal::UnknownPurpose("marketing".into())
        );
    }
}
