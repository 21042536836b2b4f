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
    /// Keeping what a law requires past the relationship (tax records after a partial erasure),
    /// and answering for it: the categories the rule `rule` keeps, no more.
    KeptByLaw {
        rule: String,
        categories: Vec<String>,
    },
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
            Duty::KeptByLaw { .. } => "kept_by_law",
        }
    }

    /// The record the duty serves, written to the audit log with it.
    fn reference(&self) -> Option<String> {
        match self {
            Duty::RequestAnswer(id) => Some(format!("request:{id}")),
            Duty::IncidentResponse { incident, .. } => Some(format!("incident:{incident}")),
            Duty::LegalClaim { hold, .. } => Some(format!("hold:{hold}")),
            Duty::KeptByLaw { rule, .. } => Some(format!("rule:{rule}")),
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
            Duty::IncidentResponse { categories, .. }
            | Duty::LegalClaim { categories, .. }
            | Duty::KeptByLaw { categories, .. } => categories.clone(),
        }
    }
}

/// The category the address a duty writes to belongs to.
pub(crate) const ADDRESS_CATEGORY: &str = crate::names::CONTACT;

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

/// Purposes — and the consents of categories — whose basis became consent in a published
/// version (R10.1): for each, the version it moved in and the versions a consent must have been
/// given under to count.
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
    #[error(
        "category `{category}` rests on the person's consent `{consent}`, which they have not given or have withdrawn (R3.2)"
    )]
    NoConsentForCategory { category: String, consent: String },
    #[error(
        "category `{category}` rests on the contract with the person, and none is in force (R3.2)"
    )]
    NoContractForCategory { category: String },
    #[error(
        "`{field}` is confidential: it needs the person's explicit consent `{consent}`, which is not in force (R2.3)"
    )]
    NoConsentForField { field: String, consent: String },
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
            Refusal::NoConsentForCategory { .. } => "no_consent_for_category",
            Refusal::NoContractForCategory { .. } => "no_contract_for_category",
            Refusal::NoConsentForField { .. } => "no_consent_for_field",
        }
    }

    /// The category or field a refusal of data concerns.
    fn subject(&self) -> String {
        match self {
            Refusal::NoConsentForCategory { category, .. }
            | Refusal::NoContractForCategory { category } => category.clone(),
            Refusal::NoConsentForField { field, .. } => field.clone(),
            other => other.rule().to_string(),
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
    fn consented(&self, key: &str) -> bool {
        self.consents.get(key) == Some(&ConsentAction::Granted)
    }

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
    /// What the use would reach but may not open now, and the rule: categories whose own
    /// basis does not hold, confidential fields (`category.field`) without their consent.
    withheld: Vec<Withheld>,
    _only_the_gate_builds_grants: (),
}

/// A category or confidential field a grant keeps closed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Withheld {
    /// A category key, or a field as `category.field`.
    pub what: String,
    pub rule: String,
    pub reason: String,
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

    /// Whether the field (`category.field`) opens: its category does, and it is not a
    /// confidential field withheld for want of its consent.
    pub fn allows_field(&self, category: &str, field: &str) -> bool {
        self.allows(category) && !self.withheld.iter().any(|w| w.what == field)
    }

    pub fn withheld(&self) -> &[Withheld] {
        &self.withheld
    }
}

/// Whether a category's own basis holds (R3.2): a category on consent needs the consent it
/// names, a category on the contract a contract in force.
fn category_basis(policy: &Policy, state: &BasisState, key: &str) -> Result<(), Refusal> {
    let Some(category) = policy.category(key) else {
        return Ok(());
    };
    match (category.legal_basis, &category.consent) {
        (LegalBasis::Consent, Some(consent)) if !state.consented(consent) => {
            Err(Refusal::NoConsentForCategory {
                category: key.to_string(),
                consent: consent.clone(),
            })
        }
        (LegalBasis::Contract, _) if !state.contract => Err(Refusal::NoContractForCategory {
            category: key.to_string(),
        }),
        _ => Ok(()),
    }
}

/// A category that moved onto consent in a published version opens only with its consent given
/// under that version or a later one (R10.1), like a purpose that did.
fn renewed_category(
    policy: &Policy,
    renewals: &Renewals,
    consents: &[ConsentEvent],
    key: &str,
) -> Result<(), Refusal> {
    match policy.category(key) {
        Some(c) if c.legal_basis == LegalBasis::Consent => match &c.consent {
            Some(consent) => renewals.check(consent, consents),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The confidential fields of `category` whose consent is not in force (R2.3).
fn unconsented_fields(policy: &Policy, state: &BasisState, key: &str) -> Vec<Refusal> {
    let Some(category) = policy.category(key) else {
        return vec![];
    };
    category
        .fields
        .iter()
        .filter_map(|f| match (&f.consent, f.confidential) {
            (Some(consent), true) if !state.consented(consent) => {
                Some(Refusal::NoConsentForField {
                    field: format!("{key}.{}", f.key),
                    consent: consent.clone(),
                })
            }
            _ => None,
        })
        .collect()
}

/// Whether values of these fields (`(category, category.field)`) may be collected from the
/// person now: a category on consent needs its consent, a confidential field its own (R2.3,
/// R3.2). Data kept to answer the person's own request is not collected on consent and does
/// not ask here.
pub(crate) fn may_collect<'a>(
    policy: &Policy,
    ledgers: Ledgers<'_>,
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), Refusal> {
    let state = BasisState::fold(ledgers.bases, ledgers.consents);
    for (category, field) in fields {
        if let Err(refusal) = category_basis(policy, &state, category)
            && matches!(refusal, Refusal::NoConsentForCategory { .. })
        {
            return Err(refusal);
        }
        if let Some(refusal) = unconsented_fields(policy, &state, category)
            .into_iter()
            .find(|r| matches!(r, Refusal::NoConsentForField { field: f, .. } if f == field))
        {
            return Err(refusal);
        }
    }
    Ok(())
}

/// Decide whether `use_` of the subject's data is lawful now, given its ledgers and the
/// policy's renewals. The one place a use is decided: every read, copy, notice and recorded
/// event asks here. An objection to a purpose refuses it whatever its basis (R6.1: objection
/// to direct marketing stops notifications even with a consent on record).
pub(crate) fn decide(
    policy: &Policy,
    renewals: &Renewals,
    subject: Uuid,
    ledgers: Ledgers<'_>,
    use_: Use,
) -> Result<Grant, Refusal> {
    let consents = ledgers.consents;
    let state = BasisState::fold(ledgers.bases, consents);
    let mut withheld = vec![];
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
            // The purpose's basis holds; each category opens only while its own does too, and
            // a confidential field only with its consent.
            let mut open = BTreeSet::new();
            let mut refusals = vec![];
            for key in &purpose.categories {
                match category_basis(policy, &state, key)
                    .and_then(|()| renewed_category(policy, renewals, consents, key))
                {
                    Ok(()) => {
                        open.insert(key.clone());
                        refusals.extend(
                            unconsented_fields(policy, &state, key)
                                .into_iter()
                                .map(|r| (r.subject(), r)),
                        );
                    }
                    Err(refusal) => refusals.push((key.clone(), refusal)),
                }
            }
            if open.is_empty() {
                let (_, first) = refusals
                    .into_iter()
                    .next()
                    .expect("a purpose uses at least one category (validated)");
                return Err(first);
            }
            withheld = refusals
                .into_iter()
                .map(|(what, r)| Withheld {
                    what,
                    rule: r.rule().to_string(),
                    reason: r.to_string(),
                })
                .collect();
            open
        }
    };
    Ok(Grant {
        subject,
        use_,
        categories,
        withheld,
        _only_the_gate_builds_grants: (),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::{Channel, terms};

    fn policy() -> Policy {
        crate::shipped_policy()
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

    /// The state's events, with the consents to data a registration gives (contact data, the
    /// professional profile), so only the purpose's basis and the contract vary.
    fn events(p: &Policy, purpose: &str, state: State) -> (Vec<BasisEvent>, Vec<ConsentEvent>) {
        let (bases, mut consents) = purpose_events(p, purpose, state);
        for data in ["contact_data", "professional_profile"] {
            consents.insert(0, consent(p, data, ConsentAction::Granted));
        }
        (bases, consents)
    }

    fn purpose_events(
        p: &Policy,
        purpose: &str,
        state: State,
    ) -> (Vec<BasisEvent>, Vec<ConsentEvent>) {
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
                        // A category on the contract opens only while one is in force (R3.2).
                        let contract = matches!(state, State::ContractActive);
                        let mut declared: Vec<&str> = p
                            .purpose(purpose)
                            .unwrap()
                            .categories
                            .iter()
                            .map(String::as_str)
                            .filter(|c| {
                                contract
                                    || p.category(c).unwrap().legal_basis != LegalBasis::Contract
                            })
                            .collect();
                        declared.sort();
                        assert_eq!(
                            categories, declared,
                            "{purpose} in {state:?}: the grant opens the purpose's categories whose own basis holds"
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
