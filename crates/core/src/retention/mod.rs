//! Retention as the policy states it (R8.1): when a stored value is due for deletion.

pub mod holds;
mod months;
pub mod sweep;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use vintrova_policy::{Policy, RetentionAnchor, RetentionRule};

use crate::consent::{ConsentAction, ConsentEvent};
use crate::gate::{BasisEvent, BasisEventKind};
use crate::records::{Record, RecordKind};
use crate::requests::Request;

/// The retention that applies to one value, as an export shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetentionNote {
    pub rule: String,
    /// What starts the clock.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "collected"))]
    pub anchor: RetentionAnchor,
    /// ISO 8601 term after the anchor.
    pub term: String,
    /// When the value will be deleted, once the anchor has happened; `null` while it has not
    /// (for example while the person still uses the services).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub delete_after: Option<Timestamp>,
    pub required_by_law: bool,
}

/// The events that start retention clocks for one person, as far as they have happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Anchors {
    /// The person stopped using the services (the contract ended).
    pub service_ended: Option<Timestamp>,
    /// The person last completed a course.
    pub course_completed: Option<Timestamp>,
    /// Per record: when an enrollment was completed or a support ticket or request closed.
    pub records: std::collections::BTreeMap<uuid::Uuid, Timestamp>,
    /// For someone known only by their letters — no contract, no consent — when the last of
    /// their requests closed, once every one has.
    pub letters_closed: Option<Timestamp>,
}

impl Anchors {
    /// The anchors a person's history sets. The service ends when the contract ends (an
    /// account closed, by the person or for idleness); for someone who never had a contract —
    /// a subscriber, a visitor — when the last consent they gave is withdrawn.
    pub fn of(
        bases: &[BasisEvent],
        consents: &[ConsentEvent],
        records: &[Record],
        requests: &[Request],
    ) -> Anchors {
        let mut had_contract = false;
        let mut service_ended = None;
        for e in bases {
            match e.kind {
                BasisEventKind::ContractStarted => {
                    had_contract = true;
                    service_ended = None;
                }
                BasisEventKind::ContractEnded => service_ended = Some(e.at),
                _ => {}
            }
        }
        if !had_contract && !consents.is_empty() {
            let mut last: std::collections::BTreeMap<&str, &ConsentEvent> = Default::default();
            for c in consents {
                last.insert(c.purpose.as_str(), c);
            }
            if last.values().all(|c| c.action == ConsentAction::Withdrawn) {
                service_ended = last.values().map(|c| c.at).max();
            }
        }
        let mut anchors = Anchors {
            service_ended,
            ..Anchors::default()
        };
        for r in records {
            if let Some(at) = r.anchored_at {
                anchors.records.insert(r.id, at);
                if r.kind == RecordKind::Enrollment {
                    anchors.course_completed = anchors.course_completed.max(Some(at));
                }
            }
        }
        for r in requests {
            if let Some(at) = r.closed_at {
                anchors.records.insert(r.id, at);
            }
        }
        if !had_contract && consents.is_empty() && requests.iter().all(|r| r.closed_at.is_some()) {
            anchors.letters_closed = requests.iter().filter_map(|r| r.closed_at).max();
        }
        anchors
    }

    /// The person's relationship with us is over by `as_of`: the service they used ended, or,
    /// known only by letters, their last request closed.
    pub fn ended_by(&self, as_of: Timestamp) -> bool {
        self.service_ended
            .or(self.letters_closed)
            .is_some_and(|ended| ended <= as_of)
    }
}

/// `start` plus `span`, counted in the policy's calendar.
fn after(policy: &Policy, start: Timestamp, span: jiff::Span) -> Option<Timestamp> {
    start
        .to_zoned_datetime(policy.zone())
        .checked_add(span)
        .ok()
        .map(|z| z.timestamp())
}

/// The end of the tax period `at` falls in: the first moment of the next calendar year in the
/// policy's time zone.
fn tax_period_end(policy: &Policy, at: Timestamp) -> Option<Timestamp> {
    let zone = policy.zone();
    let year = at.to_zoned_datetime(zone.clone()).year();
    jiff::civil::date(year.checked_add(1)?, 1, 1)
        .to_zoned_datetime(zone)
        .ok()
        .map(|z| z.timestamp())
}

/// The moment a value collected at `collected_at` under `rule` falls due, if its anchor has
/// happened. Calendar arithmetic runs in the policy's time zone, so "3 years" means the same
/// day three years on in Almaty.
///
/// A value of a record (an enrollment, a ticket, a request) is anchored on that record's own
/// event. Learning data: a completed course's record is kept its term after completion; a
/// course left unfinished leaves nothing to certify and goes when the service ends; the
/// education profile stays while the person uses the services, then its term after the last
/// completion.
pub fn due(
    policy: &Policy,
    rule: &RetentionRule,
    collected_at: Timestamp,
    record: Option<uuid::Uuid>,
    anchors: &Anchors,
) -> Option<Timestamp> {
    let span = rule.span();
    let own = record.and_then(|r| anchors.records.get(&r).copied());
    match rule.anchor {
        RetentionAnchor::Recorded | RetentionAnchor::Collected => after(policy, collected_at, span),
        RetentionAnchor::TaxPeriodEnded => {
            after(policy, tax_period_end(policy, collected_at)?, span)
        }
        RetentionAnchor::ServiceEnded => match anchors.service_ended {
            Some(ended) => after(policy, ended, span),
            // A letter-writer never used the services: what they left is kept as long as the
            // correspondence it served, by the rule that keeps a closed request.
            None => {
                let correspondence = policy
                    .retention_rules
                    .iter()
                    .find(|r| r.anchor == RetentionAnchor::TicketClosed)?;
                after(policy, anchors.letters_closed?, correspondence.span())
            }
        },
        RetentionAnchor::TicketClosed => after(policy, own?, span),
        RetentionAnchor::CourseCompleted => match (record, own) {
            (_, Some(completed)) => after(policy, completed, span),
            (Some(_), None) => anchors.service_ended,
            (None, None) => {
                let ended = anchors.service_ended?;
                Some(match anchors.course_completed {
                    Some(c) => after(policy, c, span)?.max(ended),
                    None => ended,
                })
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn financial_records_fall_due_five_years_after_their_tax_year_ends_in_almaty() {
        let policy = crate::shipped_policy();
        let rule = policy.retention_rule("financial").unwrap();
        let due_of = |paid: &str| {
            due(
                &policy,
                rule,
                paid.parse().unwrap(),
                None,
                &Anchors::default(),
            )
            .unwrap()
            .to_string()
        };
        // Paid in 2024: the tax period ends with 2024 (1 January 2025, 00:00 in Almaty, UTC+5),
        // and the record is kept five years from then.
        assert_eq!(due_of("2024-02-29T21:00:00Z"), "2029-12-31T19:00:00Z");
        assert_eq!(due_of("2024-12-31T18:59:59Z"), "2029-12-31T19:00:00Z");
        // 20:00 UTC on New Year's Eve is already 2025 in Almaty: the next tax period.
        assert_eq!(due_of("2024-12-31T20:00:00Z"), "2030-12-31T19:00:00Z");
        let paid: Timestamp = "2024-02-29T21:00:00Z".parse().unwrap();
        let active = policy.retention_rule("active_user").unwrap();
        assert_eq!(
            due(&policy, active, paid, None, &Anchors::default()),
            None,
            "kept while the service is used"
        );
        let graduate = policy.retention_rule("graduate").unwrap();
        let mut anchors = Anchors {
            course_completed: Some("2025-06-30T10:00:00Z".parse().unwrap()),
            ..Anchors::default()
        };
        assert_eq!(
            due(&policy, graduate, paid, None, &anchors),
            None,
            "a graduate's education profile stays while they use the services"
        );
        anchors.service_ended = Some("2026-01-10T10:00:00Z".parse().unwrap());
        assert_eq!(
            due(&policy, graduate, paid, None, &anchors)
                .unwrap()
                .to_string(),
            "2028-06-30T10:00:00Z"
        );
        let unfinished = uuid::Uuid::nil();
        assert_eq!(
            due(&policy, graduate, paid, Some(unfinished), &anchors),
            anchors.service_ended,
            "an unfinished course goes with the account"
        );
    }
}
