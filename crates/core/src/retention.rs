//! Retention as the policy states it (R8.1): when a stored value is due for deletion.

use jiff::Timestamp;
use serde::Serialize;
use vintrova_policy::{Policy, RetentionAnchor, RetentionRule};

/// The retention that applies to one value, as an export shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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
    /// Per record: when an enrollment was completed or a support ticket closed.
    pub records: std::collections::BTreeMap<uuid::Uuid, Timestamp>,
}

/// The moment a value collected at `collected_at` under `rule` falls due, if its anchor has
/// happened. Calendar arithmetic runs in the policy's time zone, so "3 years" means the same
/// day three years on in Almaty.
/// A value of a record (an enrollment, a ticket) is anchored on that record's own event.
pub fn due(
    policy: &Policy,
    rule: &RetentionRule,
    collected_at: Timestamp,
    record: Option<uuid::Uuid>,
    anchors: &Anchors,
) -> Option<Timestamp> {
    let own = record.and_then(|r| anchors.records.get(&r).copied());
    let anchor = match rule.anchor {
        RetentionAnchor::Recorded | RetentionAnchor::Collected => collected_at,
        RetentionAnchor::ServiceEnded => anchors.service_ended?,
        RetentionAnchor::CourseCompleted => own.or(anchors.course_completed)?,
        RetentionAnchor::TicketClosed => own?,
    };
    let tz = policy.zone();
    anchor
        .to_zoned_datetime(tz)
        .checked_add(rule.span())
        .ok()
        .map(|z| z.timestamp())
}

pub fn note(
    policy: &Policy,
    rule: &RetentionRule,
    collected_at: Timestamp,
    record: Option<uuid::Uuid>,
    anchors: &Anchors,
) -> RetentionNote {
    RetentionNote {
        rule: rule.key.clone(),
        anchor: rule.anchor,
        term: rule.term.clone(),
        delete_after: due(policy, rule, collected_at, record, anchors),
        required_by_law: rule.required_by_law,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn financial_records_fall_due_five_calendar_years_later_in_almaty() {
        let policy = vintrova_policy::load(include_str!("../../../policy/vintrova.toml")).unwrap();
        let rule = policy.retention_rule("financial").unwrap();
        // 2024-02-29 21:00 UTC is already 1 March 02:00 in Almaty (UTC+5).
        let paid: Timestamp = "2024-02-29T21:00:00Z".parse().unwrap();
        assert_eq!(
            due(&policy, rule, paid, None, &Anchors::default())
                .unwrap()
                .to_string(),
            "2029-02-28T21:00:00Z"
        );
        let active = policy.retention_rule("active_user").unwrap();
        assert_eq!(
            due(&policy, active, paid, None, &Anchors::default()),
            None,
            "kept while the service is used"
        );
        let graduate = policy.retention_rule("graduate").unwrap();
        let anchors = Anchors {
            course_completed: Some("2025-06-30T10:00:00Z".parse().unwrap()),
            ..Anchors::default()
        };
        assert_eq!(
            due(&policy, graduate, paid, None, &anchors)
                .unwrap()
                .to_string(),
            "2028-06-30T10:00:00Z"
        );
    }
}
