//! Kazakhstan's working-day calendar: the clock incidents run against (R7.9).
//!
//! The Labour Code's public holidays, with its rule that a secular holiday falling on a Saturday
//! or Sunday moves the day off to the next working day (religious holidays do not move). The
//! government also moves single days by decree each year, and Kurban Ait's date is set each year
//! by the Spiritual Administration of Muslims: both come from configuration
//! ([`WorkCalendar::with_holidays`], [`WorkCalendar::with_workdays`]); the built-in Kurban Ait
//! dates are the astronomical ones, for an operator to confirm.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::civil::{Date, Weekday, date};
use jiff::tz::TimeZone;

/// Secular holidays (month, day): a weekend one gives the next working day off.
const SECULAR: &[(i8, i8)] = &[
    (1, 1),   // New Year
    (1, 2),   // New Year
    (3, 8),   // International Women's Day
    (3, 21),  // Nauryz
    (3, 22),  // Nauryz
    (3, 23),  // Nauryz
    (5, 1),   // Unity of the People of Kazakhstan
    (5, 7),   // Defender of the Fatherland
    (5, 9),   // Victory Day
    (7, 6),   // Capital Day
    (8, 30),  // Constitution Day
    (10, 25), // Republic Day
    (12, 16), // Independence Day
];

/// Orthodox Christmas: a religious holiday, never moved.
const CHRISTMAS: (i8, i8) = (1, 7);

/// The first day of Kurban Ait, a religious holiday, by year (astronomical dates; the operator
/// confirms each against the year's announcement and adds a correction to configuration).
const KURBAN_AIT: &[(i16, i8, i8)] = &[
    (2024, 6, 16),
    (2025, 6, 6),
    (2026, 5, 27),
    (2027, 5, 16),
    (2028, 5, 5),
    (2029, 4, 24),
    (2030, 4, 13),
    (2031, 4, 2),
    (2032, 3, 22),
];

/// Which days are worked, and the deadlines that count in them.
#[derive(Debug, Clone, Default)]
pub struct WorkCalendar {
    /// Days off declared by decree (or a corrected Kurban Ait).
    extra_holidays: BTreeSet<Date>,
    /// Weekend days declared working by decree.
    extra_workdays: BTreeSet<Date>,
}

impl WorkCalendar {
    /// Kazakhstan's calendar, as the Labour Code defines it.
    pub fn kazakhstan() -> Self {
        WorkCalendar::default()
    }

    /// Add days off (decrees moving a day, a corrected religious date).
    pub fn with_holidays(mut self, days: impl IntoIterator<Item = Date>) -> Self {
        self.extra_holidays.extend(days);
        self
    }

    /// Add weekend days that are worked (the other half of a decree that moves a day).
    pub fn with_workdays(mut self, days: impl IntoIterator<Item = Date>) -> Self {
        self.extra_workdays.extend(days);
        self
    }

    /// The year's holidays and the days off they move to, decrees included.
    pub fn days_off(&self, year: i16) -> BTreeSet<Date> {
        let mut off: BTreeSet<Date> = SECULAR.iter().map(|&(m, d)| date(year, m, d)).collect();
        let secular_on_weekend: Vec<Date> =
            off.iter().copied().filter(|d| is_weekend(*d)).collect();
        off.insert(date(year, CHRISTMAS.0, CHRISTMAS.1));
        off.extend(
            KURBAN_AIT
                .iter()
                .filter(|(y, _, _)| *y == year)
                .map(|&(y, m, d)| date(y, m, d)),
        );
        off.extend(self.extra_holidays.iter().filter(|d| d.year() == year));
        // Each moved day goes to the first weekday after it that is neither a holiday nor
        // already taken by an earlier move (Nauryz on a weekend moves two days, in order).
        for holiday in secular_on_weekend {
            let mut day = holiday;
            loop {
                day = day.tomorrow().expect("within jiff's range");
                if !is_weekend(day) && !off.contains(&day) {
                    break;
                }
            }
            off.insert(day);
        }
        off.retain(|d| !self.extra_workdays.contains(d));
        off
    }

    pub fn is_working_day(&self, day: Date) -> bool {
        if self.extra_workdays.contains(&day) {
            return true;
        }
        !is_weekend(day) && !self.days_off(day.year()).contains(&day)
    }

    /// The first working day strictly after `day`.
    pub fn next_working_day(&self, day: Date) -> Date {
        let mut next = day.tomorrow().expect("within jiff's range");
        while !self.is_working_day(next) {
            next = next.tomorrow().expect("within jiff's range");
        }
        next
    }

    /// "Within one working day" of `at`: the end of the first working day after the day `at`
    /// falls on, in `tz`. Detected on a Friday evening, the deadline is Monday's midnight, or
    /// Tuesday's when Monday is a holiday.
    pub fn one_working_day_after(&self, at: Timestamp, tz: &TimeZone) -> Timestamp {
        let day = at.to_zoned_datetime(tz.clone()).date();
        self.next_working_day(day)
            .tomorrow()
            .expect("within jiff's range")
            .to_zoned_datetime(tz.clone())
            .expect("midnight exists in the policy's zone")
            .timestamp()
    }
}

fn is_weekend(day: Date) -> bool {
    matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn almaty() -> TimeZone {
        vintrova_policy::zone("Asia/Almaty").unwrap()
    }

    #[test]
    fn weekends_are_not_worked_and_weekdays_are() {
        let cal = WorkCalendar::kazakhstan();
        assert!(cal.is_working_day(date(2026, 11, 27))); // Friday
        assert!(!cal.is_working_day(date(2026, 11, 28))); // Saturday
        assert!(!cal.is_working_day(date(2026, 11, 29))); // Sunday
        assert_eq!(cal.next_working_day(date(2026, 11, 27)), date(2026, 11, 30));
    }

    #[test]
    fn nauryz_on_a_weekend_moves_its_days_off_to_the_next_working_days() {
        // 2026: 21 March is a Saturday, 22 a Sunday, 23 a Monday: 21–25 March are off.
        let cal = WorkCalendar::kazakhstan();
        for d in 21..=25 {
            assert!(!cal.is_working_day(date(2026, 3, d)), "{d} March 2026");
        }
        assert!(cal.is_working_day(date(2026, 3, 26)));
        assert_eq!(cal.next_working_day(date(2026, 3, 20)), date(2026, 3, 26));
    }

    #[test]
    fn religious_holidays_do_not_move() {
        // Orthodox Christmas 2024 fell on a Sunday; Monday 8 January was worked.
        let cal = WorkCalendar::kazakhstan();
        assert!(!cal.is_working_day(date(2024, 1, 7)));
        assert!(cal.is_working_day(date(2024, 1, 8)));
        assert!(!cal.is_working_day(date(2026, 5, 27))); // Kurban Ait, a Wednesday
    }

    #[test]
    fn independence_day_and_new_year_with_their_moves() {
        let cal = WorkCalendar::kazakhstan();
        // 16 December 2023 was a Saturday: Monday the 18th was off.
        assert!(!cal.is_working_day(date(2023, 12, 18)));
        // 1 January 2028 is a Saturday, the 2nd a Sunday: the 3rd and 4th are off.
        assert!(!cal.is_working_day(date(2028, 1, 3)));
        assert!(!cal.is_working_day(date(2028, 1, 4)));
        assert!(cal.is_working_day(date(2028, 1, 5)));
    }

    #[test]
    fn decrees_move_single_days_both_ways() {
        // A decree makes Monday 5 January 2026 a day off and Saturday 3 January a working day.
        let cal = WorkCalendar::kazakhstan()
            .with_holidays([date(2026, 1, 5)])
            .with_workdays([date(2026, 1, 3)]);
        assert!(!cal.is_working_day(date(2026, 1, 5)));
        assert!(cal.is_working_day(date(2026, 1, 3)));
        assert_eq!(cal.next_working_day(date(2026, 1, 2)), date(2026, 1, 3));
    }

    #[test]
    fn one_working_day_runs_to_the_end_of_the_next_working_day_in_almaty() {
        let cal = WorkCalendar::kazakhstan();
        let tz = almaty();
        // Detected on Friday 27 November 2026 at 22:30 Almaty (17:30 UTC): due at the end of
        // Monday 30 November, Almaty (19:00 UTC).
        let friday: Timestamp = "2026-11-27T17:30:00Z".parse().unwrap();
        assert_eq!(
            cal.one_working_day_after(friday, &tz),
            "2026-11-30T19:00:00Z".parse::<Timestamp>().unwrap()
        );
        // Detected at 00:30 Almaty on Saturday (19:30 UTC Friday): the day is Saturday, still
        // Monday's end.
        let saturday: Timestamp = "2026-11-27T19:30:00Z".parse().unwrap();
        assert_eq!(
            cal.one_working_day_after(saturday, &tz),
            "2026-11-30T19:00:00Z".parse::<Timestamp>().unwrap()
        );
        // Detected on Friday 20 March 2026: Nauryz runs to Wednesday, due Thursday's end.
        let before_nauryz: Timestamp = "2026-03-20T05:00:00Z".parse().unwrap();
        assert_eq!(
            cal.one_working_day_after(before_nauryz, &tz),
            "2026-03-26T19:00:00Z".parse::<Timestamp>().unwrap()
        );
    }
}
