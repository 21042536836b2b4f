//! The person's rights (R6.1) and the 30-day clock of answering them (R6.3).
//!
//! The deadline is counted in calendar days in the policy's time zone: a request received on
//! 31 January in Almaty is due by the end of 2 March there, whatever UTC says, and whatever the
//! zone's offset was (Kazakhstan moved from UTC+6 to UTC+5 on 1 March 2024).

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::words::words;

/// The seven rights the policy grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RightKind {
    Information,
    Access,
    Rectification,
    Erasure,
    Restriction,
    ConsentWithdrawal,
    MarketingObjection,
}

words!(RightKind {
    Information => "information",
    Access => "access",
    Rectification => "rectification",
    Erasure => "erasure",
    Restriction => "restriction",
    ConsentWithdrawal => "consent_withdrawal",
    MarketingObjection => "marketing_objection",
});

/// Days the law gives to answer (R6.3).
pub const ANSWER_DAYS: i64 = 30;

/// When a request received at `received` must be answered: the last moment of the 30th
/// calendar day after the day of receipt, in `zone`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Deadline {
    /// The last day, as the person and staff read it in the policy's zone.
    pub due_on: Date,
    /// The first instant after it: the request is overdue from here on.
    pub overdue_from: Timestamp,
}

pub fn deadline(received: Timestamp, zone: &TimeZone) -> Deadline {
    let received_on = received.to_zoned_datetime(zone.clone()).date();
    let due_on = received_on
        .checked_add(ANSWER_DAYS.days())
        .expect("thirty days after a real date is a real date");
    let next_day = due_on
        .tomorrow()
        .expect("the day after a real date is a real date");
    let overdue_from = next_day
        .to_zoned_datetime(zone.clone())
        .expect("midnight exists in the policy's zone")
        .timestamp();
    Deadline {
        due_on,
        overdue_from,
    }
}

/// How the deadline stands at `now`: days left (negative when overdue).
pub fn days_left(deadline: &Deadline, now: Timestamp, zone: &TimeZone) -> i64 {
    let today = now.to_zoned_datetime(zone.clone()).date();
    let span = today.until(deadline.due_on).expect("dates are comparable");
    i64::from(span.get_days())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn almaty() -> TimeZone {
        vintrova_policy::zone("Asia/Almaty").unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn thirty_calendar_days_across_a_month_end() {
        // 31 January 10:00 in Almaty → due on 2 March (February 2025 has 28 days).
        let d = deadline(at("2025-01-31T05:00:00Z"), &almaty());
        assert_eq!(d.due_on.to_string(), "2025-03-02");
        assert_eq!(
            d.overdue_from.to_string(),
            "2025-03-02T19:00:00Z",
            "midnight of 3 March in Almaty (UTC+5)"
        );
        // In a leap year February has 29.
        assert_eq!(
            deadline(at("2024-01-31T05:00:00Z"), &almaty())
                .due_on
                .to_string(),
            "2024-03-01"
        );
    }

    #[test]
    fn the_day_of_receipt_is_read_in_almaty_not_utc() {
        // 20:30 UTC on 14 May is already 15 May in Almaty.
        assert_eq!(
            deadline(at("2025-05-14T20:30:00Z"), &almaty())
                .due_on
                .to_string(),
            "2025-06-14"
        );
        assert_eq!(
            deadline(at("2025-05-14T18:30:00Z"), &almaty())
                .due_on
                .to_string(),
            "2025-06-13"
        );
    }

    #[test]
    fn the_2024_time_zone_change_is_respected() {
        // 29 February 2024 at 23:30 in Almaty was UTC+6 (17:30 UTC); the deadline day ends at
        // midnight under the new offset, UTC+5.
        let d = deadline(at("2024-02-29T17:30:00Z"), &almaty());
        assert_eq!(d.due_on.to_string(), "2024-03-30");
        assert_eq!(d.overdue_from.to_string(), "2024-03-30T19:00:00Z");
        // The same UTC instant a day later is 1 March under the new offset.
        assert_eq!(
            deadline(at("2024-03-01T17:30:00Z"), &almaty())
                .due_on
                .to_string(),
            "2024-03-31"
        );
    }

    #[test]
    fn days_left_counts_down_and_goes_negative_when_overdue() {
        let d = deadline(at("2025-01-31T05:00:00Z"), &almaty());
        assert_eq!(days_left(&d, at("2025-01-31T05:00:00Z"), &almaty()), 30);
        assert_eq!(
            days_left(&d, at("2025-03-02T18:59:59Z"), &almaty()),
            0,
            "the last day, still in time"
        );
        assert_eq!(
            days_left(&d, at("2025-03-02T19:00:00Z"), &almaty()),
            -1,
            "overdue from midnight"
        );
    }

    #[test]
    fn seven_rights() {
        assert_eq!(RightKind::ALL.len(), 7);
        assert_eq!(RightKind::parse("erasure"), Some(RightKind::Erasure));
    }
}
