//! What the platform is told: one event for each change it must act on — a consent withdrawn in
//! the privacy center stops its marketing, an erasure ends its own copy. An event rides on the
//! audit entry of its change ([`crate::audit::AuditDraft::telling`]), so the store writes both in
//! the change's transaction: no change without its event, no event without its change.
//!
//! A payload carries ids and what changed — the purpose, the names of the fields, the receipt's
//! hash — never a value the receiver does not already hold.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::words::words;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    ConsentGiven,
    ConsentWithdrawn,
    ObjectionSet,
    ObjectionLifted,
    RestrictionSet,
    RestrictionLifted,
    AccountClosed,
    /// The person, or some of their data, was erased; the receipt's hash is in the payload.
    SubjectErased,
    /// Profile values changed (a rectification, or the platform's own update).
    SubjectRectified,
    /// A policy version was published, with the day it comes into force.
    PolicyPublished,
    /// A rights request was answered, refused or withdrawn.
    RequestAnswered,
}

words!(EventKind {
    ConsentGiven => "consent.given",
    ConsentWithdrawn => "consent.withdrawn",
    ObjectionSet => "objection.set",
    ObjectionLifted => "objection.lifted",
    RestrictionSet => "restriction.set",
    RestrictionLifted => "restriction.lifted",
    AccountClosed => "account.closed",
    SubjectErased => "subject.erased",
    SubjectRectified => "subject.rectified",
    PolicyPublished => "policy.published",
    RequestAnswered => "request.answered",
});

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let word = String::deserialize(d)?;
        EventKind::parse(&word)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown event kind `{word}`")))
    }
}

/// An event before it is written: its kind, the person it is about, and what changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    pub subject: Option<Uuid>,
    pub data: Value,
}

impl Event {
    /// An event about `subject`; `data` gains the subject's id.
    pub(crate) fn about(kind: EventKind, subject: Uuid, data: Value) -> Event {
        let mut data = data;
        if let Value::Object(map) = &mut data {
            map.insert("subject".into(), json!(subject));
        }
        Event {
            kind,
            subject: Some(subject),
            data,
        }
    }

    /// The body as the receiver gets it (the Standard Webhooks shape): written once, when the
    /// change is, so every attempt sends — and signs — the same bytes.
    pub fn body(&self, at: Timestamp) -> String {
        json!({ "type": self.kind.as_str(), "timestamp": at.to_string(), "data": self.data })
            .to_string()
    }
}

/// An event as written with its change: ordered by the audit entry it rode on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRecord {
    /// The audit entry of the change: events are delivered in this order.
    pub seq: i64,
    /// The `webhook-id` every attempt carries, for the receiver to drop a repeat.
    pub id: Uuid,
    pub kind: EventKind,
    pub subject: Option<Uuid>,
    pub body: String,
    pub created_at: Timestamp,
}
