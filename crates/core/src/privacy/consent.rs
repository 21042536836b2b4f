//! The consent ledger (R2.3, R3.2, R6.1): append-only grant and withdraw events per subject and
//! purpose. Each event carries the policy version it was given under, the channel, the time,
//! a keyed digest of the evidence (which proves it without holding it), and the terms the person
//! agreed to as Kazakhstan's law expects a consent to name them: the operator, the data, the
//! term, and whether data goes to third parties or abroad. The current state is derived from
//! the events; nothing is ever rewritten.

use crate::words::words;
use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use vintrova_policy::Policy;

use crate::audit::Action;
use crate::events::{Event, EventKind};
use crate::{Actor, Result, Vintrova};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsentAction {
    Granted,
    Withdrawn,
}

/// Where a consent was given or withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A form on the site (registration, enrollment, webinar sign-up).
    Form,
    /// The cookie banner (analytics cookies).
    CookieBanner,
    /// The person's own cabinet.
    Cabinet,
    /// Staff, acting on the person's written request.
    StaffWrittenRequest,
}

words!(ConsentAction {
    Granted => "granted",
    Withdrawn => "withdrawn",
});

words!(Channel {
    Form => "form",
    CookieBanner => "cookie_banner",
    Cabinet => "cabinet",
    StaffWrittenRequest => "staff_written_request",
});

/// How long one category of the consented data is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TermOfCategory {
    pub category: String,
    pub retention_rule: String,
    pub term: String,
}

/// What the person agreed to, as the policy stated it when they agreed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentTerms {
    pub operator: String,
    pub purpose: String,
    /// The data: the categories the purpose uses.
    pub categories: Vec<String>,
    pub terms: Vec<TermOfCategory>,
    /// Kinds of third parties that may receive data for this purpose.
    pub recipients: Vec<String>,
    /// Countries outside the operator's that those recipients are in (cross-border transfer).
    pub cross_border: Vec<String>,
}

/// One event of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentEvent {
    pub purpose: String,
    pub action: ConsentAction,
    pub policy_version: String,
    pub channel: Channel,
    /// Keyed digest of the evidence presented (form submission, banner click); the evidence
    /// itself is not kept. Present the same evidence again to prove the match. Shown as
    /// whether evidence was recorded.
    #[serde(
        rename = "evidence_recorded",
        serialize_with = "recorded",
        deserialize_with = "recorded_back"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = bool))]
    pub evidence: Option<Vec<u8>>,
    pub terms: ConsentTerms,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
}

fn recorded<S: serde::Serializer>(evidence: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(evidence.is_some())
}

/// A copy read back (to be shown as a page) knows only whether evidence was recorded, not its
/// digest: an empty digest stands for "recorded" and proves nothing.
fn recorded_back<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
    Ok(bool::deserialize(d)?.then(Vec::new))
}

/// The terms of consenting to `purpose` under `policy`.
pub fn terms(policy: &Policy, purpose: &str) -> ConsentTerms {
    // A purpose's consent covers the categories it uses; a consent to data, the categories
    // and confidential fields that name it.
    let categories: Vec<String> = policy
        .purpose(purpose)
        .map(|p| p.categories.clone())
        .unwrap_or_else(|| policy.categories_of_consent(purpose));
    let terms = categories
        .iter()
        .filter_map(|c| policy.category(c))
        .map(|c| {
            let rule = policy.retention_of(c);
            TermOfCategory {
                category: c.key.clone(),
                retention_rule: rule.key.clone(),
                term: rule.term.clone(),
            }
        })
        .collect();
    let recipients: Vec<&vintrova_policy::Recipient> = policy
        .recipients
        .iter()
        .filter(|r| {
            r.purposes.iter().any(|p| p == purpose)
                || (policy.purpose(purpose).is_none()
                    && r.categories.iter().any(|c| categories.contains(c)))
        })
        .collect();
    let mut cross_border: Vec<String> = recipients
        .iter()
        .flat_map(|r| r.countries.iter())
        .filter(|c| **c != policy.operator.country)
        .cloned()
        .collect();
    cross_border.sort();
    cross_border.dedup();
    ConsentTerms {
        operator: policy.operator.name.clone(),
        purpose: purpose.to_string(),
        categories,
        terms,
        recipients: recipients.iter().map(|r| r.key.clone()).collect(),
        cross_border,
    }
}

/// Each purpose's current consent: the last event decides; history stays as it was.
pub fn current(events: &[ConsentEvent]) -> BTreeMap<String, ConsentAction> {
    let mut state = BTreeMap::new();
    for e in events {
        state.insert(e.purpose.clone(), e.action);
    }
    state
}

impl Vintrova {
    pub(crate) fn consent_event(
        &self,
        purpose: &str,
        action: ConsentAction,
        channel: Channel,
        evidence: Option<&str>,
    ) -> ConsentEvent {
        ConsentEvent {
            purpose: purpose.to_string(),
            action,
            policy_version: self.policy.version.clone(),
            channel,
            evidence: evidence.map(|e| {
                self.vault
                    .blind_index()
                    .digest("consent.evidence", e)
                    .to_vec()
            }),
            terms: terms(&self.policy, purpose),
            at: self.clock.now(),
        }
    }

    /// Grant or withdraw a consent; withdrawing is as easy as granting and stops the next use
    /// at once. `evidence` (what the person submitted) is kept only as a keyed digest.
    pub async fn record_consent(
        &self,
        actor: &Actor,
        id: Uuid,
        purpose: &str,
        action: ConsentAction,
        channel: Channel,
        evidence: Option<&str>,
    ) -> Result<ConsentEvent> {
        self.check_consent_purpose(purpose)?;
        self.require_subject(id).await?;
        let event = self.consent_event(purpose, action, channel, evidence);
        let kind = match action {
            ConsentAction::Granted => EventKind::ConsentGiven,
            ConsentAction::Withdrawn => EventKind::ConsentWithdrawn,
        };
        let audit = self
            .draft(
                actor,
                Action::RecordConsent,
                Some(id),
                vec![],
                Some(purpose.to_string()),
            )
            .telling(Event::about(
                kind,
                id,
                json!({ "purpose": purpose, "channel": channel, "policy_version": event.policy_version }),
            ));
        self.audited(async |sealer| {
            self.store()
                .append_consent(id, &event, &audit, sealer)
                .await
        })
        .await?;
        // A consent the account cannot do without (contact data): withdrawn, the service ends
        // as closing the account ends it, as its text told the person before they gave it.
        if action == ConsentAction::Withdrawn
            && self
                .policy
                .consent_term(purpose)
                .is_some_and(|term| term.required)
        {
            self.end_service(actor, id).await?;
        }
        Ok(event)
    }

    /// The last consent event of `id` for `purpose`, if any: whether it stands and where it was
    /// given (the cookie banner must not take back what the person gave elsewhere).
    pub async fn last_consent(&self, id: Uuid, purpose: &str) -> Result<Option<ConsentEvent>> {
        Ok(self
            .store()
            .consents(id)
            .await?
            .into_iter()
            .rfind(|e| e.purpose == purpose))
    }

    /// Whether `evidence` is what a recorded consent event was given with.
    pub fn evidence_matches(&self, event: &ConsentEvent, evidence: &str) -> bool {
        event.evidence.as_deref()
            == Some(
                self.vault
                    .blind_index()
                    .digest("consent.evidence", evidence)
                    .as_slice(),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analytics_consent_names_the_data_terms_recipients_and_transfer_abroad() {
        let policy = crate::shipped_policy();
        let t = terms(&policy, "learning_analytics");
        assert_eq!(t.operator, "Vintrova");
        assert_eq!(t.categories, ["usage", "education"]);
        assert_eq!(t.terms[0].term, "P1Y");
        assert_eq!(t.recipients, ["analytics_services"]);
        assert_eq!(t.cross_border, ["DE"]);
        let n = terms(&policy, "notifications");
        assert!(n.recipients.is_empty() && n.cross_border.is_empty());
    }
}
