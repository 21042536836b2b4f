//! Legal holds: a lawful reason (a court order, an inspection) to keep data past its retention
//! date. A hold names its reference, its scope — one person, some categories, or both — who
//! placed it and until when. Holds are a ledger: placing and releasing are appended, never
//! rewritten, and each is audited. While a hold is in force the sweep and erasure keep what it
//! covers; once it is released or lapses, the next sweep deletes what is due.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;
use uuid::Uuid;

use crate::audit::Action;
use crate::values::InvalidInput;
use crate::words::words;
use crate::{Actor, Result, Vintrova};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldAction {
    Place,
    Release,
}

words!(HoldAction {
    Place => "place",
    Release => "release",
});

/// One entry of the holds ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldEvent {
    pub hold: Uuid,
    pub action: HoldAction,
    pub subject: Option<Uuid>,
    pub categories: Vec<String>,
    pub reference: String,
    pub until: Option<Timestamp>,
    pub actor: String,
    pub at: Timestamp,
}

/// A hold as the ledger makes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hold {
    pub id: Uuid,
    /// The person it keeps; `null` for everyone's data of its categories.
    pub subject: Option<Uuid>,
    /// The categories it keeps; empty for all of them.
    pub categories: Vec<String>,
    /// The legal reference: a case, an order, an inspection act.
    pub reference: String,
    /// When it lapses by itself; `null` until released.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub until: Option<Timestamp>,
    pub placed_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub placed_at: Timestamp,
    pub released_by: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub released_at: Option<Timestamp>,
}

impl Hold {
    pub fn in_force(&self, at: Timestamp) -> bool {
        self.released_at.is_none() && self.until.is_none_or(|until| at < until)
    }

    /// Whether, at `at`, it keeps this person's data of this category.
    pub fn covers(&self, subject: Uuid, category: &str, at: Timestamp) -> bool {
        self.in_force(at)
            && self.subject.is_none_or(|s| s == subject)
            && (self.categories.is_empty() || self.categories.iter().any(|c| c == category))
    }
}

/// The holds a ledger describes, in the order they were placed.
pub fn fold(events: &[HoldEvent]) -> Vec<Hold> {
    let mut holds: BTreeMap<Uuid, Hold> = BTreeMap::new();
    for e in events {
        match e.action {
            HoldAction::Place => {
                holds.insert(
                    e.hold,
                    Hold {
                        id: e.hold,
                        subject: e.subject,
                        categories: e.categories.clone(),
                        reference: e.reference.clone(),
                        until: e.until,
                        placed_by: e.actor.clone(),
                        placed_at: e.at,
                        released_by: None,
                        released_at: None,
                    },
                );
            }
            HoldAction::Release => {
                if let Some(h) = holds.get_mut(&e.hold) {
                    h.released_by = Some(e.actor.clone());
                    h.released_at = Some(e.at);
                }
            }
        }
    }
    holds.into_values().collect()
}

/// What a hold keeps, for placing one.
#[derive(Debug, Clone, Default)]
pub struct HoldScope {
    pub subject: Option<Uuid>,
    pub categories: Vec<String>,
}

const REFERENCE_MAX: usize = 200;

impl Vintrova {
    /// Place a hold. The reference is a case or order number: it is stored in clear, so it is
    /// refused when it looks like it carries an address or a long number that could name a
    /// person.
    pub async fn place_hold(
        &self,
        actor: &Actor,
        scope: HoldScope,
        reference: &str,
        until: Option<Timestamp>,
    ) -> Result<Hold> {
        let reference = reference.trim();
        let mut problems = InvalidInput::default();
        if reference.is_empty() || reference.chars().count() > REFERENCE_MAX {
            problems.push(
                "reference",
                "the legal reference is empty or too long",
                format!("a case or order number of 1 to {REFERENCE_MAX} characters"),
            );
        } else if crate::values::looks_personal(reference) {
            problems.push(
                "reference",
                "the legal reference looks like it carries an email address or a personal number",
                "the case or order number only, never a name, address or identity number",
            );
        }
        for (i, category) in scope.categories.iter().enumerate() {
            if self.policy().category(category).is_none() {
                let known: Vec<&str> = self
                    .policy()
                    .categories
                    .iter()
                    .map(|c| c.key.as_str())
                    .collect();
                problems.push(
                    format!("categories[{i}]"),
                    format!("`{category}` is not a category of the policy"),
                    format!("one of {}", known.join(", ")),
                );
            }
        }
        if scope.subject.is_none() && scope.categories.is_empty() {
            problems.push(
                "scope",
                "a hold must name a person, categories, or both; it cannot keep everything",
                "a subject id and/or one or more categories",
            );
        }
        if until.is_some_and(|u| u <= self.now()) {
            problems.push(
                "until",
                "the hold would already have lapsed",
                "a time in the future, or none until it is released",
            );
        }
        problems.into_result()?;
        if let Some(subject) = scope.subject {
            self.require_subject(subject).await?;
        }
        let event = HoldEvent {
            hold: Uuid::now_v7(),
            action: HoldAction::Place,
            subject: scope.subject,
            categories: scope.categories,
            reference: reference.to_string(),
            until,
            actor: actor.as_str().to_string(),
            at: self.now(),
        };
        self.append_hold(actor, &event, Action::PlaceHold).await?;
        Ok(fold(&[event]).remove(0))
    }

    /// Release a hold: from now on the sweep deletes what it kept once that is due.
    pub async fn release_hold(&self, actor: &Actor, id: Uuid) -> Result<Hold> {
        let Some(hold) = self.holds().await?.into_iter().find(|h| h.id == id) else {
            return Err(InvalidInput::one(
                "hold",
                format!("no hold has the id {id}"),
                "the id of a hold from `vintrova hold list`",
            )
            .into());
        };
        if hold.released_at.is_some() {
            return Ok(hold);
        }
        let event = HoldEvent {
            hold: id,
            action: HoldAction::Release,
            subject: hold.subject,
            categories: hold.categories.clone(),
            reference: hold.reference.clone(),
            until: hold.until,
            actor: actor.as_str().to_string(),
            at: self.now(),
        };
        self.append_hold(actor, &event, Action::ReleaseHold).await?;
        Ok(Hold {
            released_by: Some(event.actor),
            released_at: Some(event.at),
            ..hold
        })
    }

    /// Every hold, placed and released.
    pub async fn holds(&self) -> Result<Vec<Hold>> {
        Ok(fold(&self.store().hold_events().await?))
    }

    async fn append_hold(&self, actor: &Actor, event: &HoldEvent, action: Action) -> Result<()> {
        let audit = self.draft(actor, action, event.subject, event.categories.clone(), None);
        self.audited(async |sealer| self.store().append_hold(event, &audit, sealer).await)
            .await
    }
}
