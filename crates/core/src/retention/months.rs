//! Whole months of events (issue 24, item 4). Where the store files events by month of
//! collection (PostgreSQL), a month in which every event fell due — decided from the policy
//! alone, whoever the person — leaves by truncating its partition: one statement, whatever its
//! size, where row by row it would be a million deletes. What the month took of each person is
//! noted in the same transaction, and the sweep's pass over people then accounts for it as for
//! rows it deleted itself: the person's audit entry, receipt and counts, and the keys of the
//! classes it emptied. A crash between the two leaves the notes, and the next sweep accounts
//! for them.

use jiff::{Timestamp, ToSpan};
use uuid::Uuid;
use vintrova_policy::{Policy, RetentionAnchor};

use crate::holds::Hold;
use crate::retention::{self, Anchors};
use crate::store::WholeMonth;
use crate::{Result, Vintrova};

/// What keeps months from leaving whole as of one moment: the key classes whose every event of
/// the month is due, and the people and categories legal holds keep.
struct Keeping {
    due: Vec<String>,
    people: Vec<Uuid>,
    categories: Vec<String>,
    /// A hold in force on every category of someone, or of everyone: no month leaves whole.
    everything: bool,
}

impl Keeping {
    fn of(policy: &Policy, month: jiff::civil::Date, holds: &[Hold], as_of: Timestamp) -> Keeping {
        let in_force: Vec<&Hold> = holds.iter().filter(|h| h.in_force(as_of)).collect();
        Keeping {
            due: due_classes(policy, month, as_of),
            people: in_force.iter().filter_map(|h| h.subject).collect(),
            categories: in_force
                .iter()
                .filter(|h| h.subject.is_none())
                .flat_map(|h| h.categories.iter().cloned())
                .collect(),
            everything: in_force
                .iter()
                .any(|h| h.subject.is_none() && h.categories.is_empty()),
        }
    }

    fn whole(&self) -> Option<WholeMonth<'_>> {
        (!self.everything && !self.due.is_empty()).then_some(WholeMonth {
            due: &self.due,
            people: &self.people,
            categories: &self.categories,
        })
    }
}

/// The key classes of which every event collected in `month` (UTC) is due by `as_of`: those
/// whose clock starts at the event's own time (collection, or the tax period it falls in), so
/// that the month's last moment falls due last. Classes counted from a service's or a course's
/// end, or a ticket's closing, depend on the person and keep any month they are in.
fn due_classes(policy: &Policy, month: jiff::civil::Date, as_of: Timestamp) -> Vec<String> {
    let utc = jiff::tz::TimeZone::UTC;
    let Some(last) = month
        .first_of_month()
        .checked_add(1.month())
        .ok()
        .and_then(|next| next.to_zoned_datetime(utc).ok())
        .and_then(|next| next.timestamp().checked_sub(1.nanosecond()).ok())
    else {
        return vec![];
    };
    policy
        .retention_rules
        .iter()
        .filter(|rule| {
            matches!(
                rule.anchor,
                RetentionAnchor::Collected
                    | RetentionAnchor::Recorded
                    | RetentionAnchor::TaxPeriodEnded
            ) && retention::due(policy, rule, last, None, &Anchors::default())
                .is_some_and(|due| due <= as_of)
        })
        .map(|rule| rule.key_class.clone())
        .collect()
}

impl Vintrova {
    /// Give this month and the next two their partitions where the store files events by month,
    /// so their events go straight into them (the sweep does it each day; so does anything that
    /// walks a clock through the years, as the demo seed does).
    pub async fn file_months(&self) -> Result<()> {
        Ok(self.store().file_months(self.now()).await?)
    }

    /// File the months, and empty each month wholly due as of `as_of` (a dry run only counts
    /// them): how many.
    pub(super) async fn whole_months(
        &self,
        holds: &[Hold],
        as_of: Timestamp,
        dry_run: bool,
    ) -> Result<u64> {
        if !dry_run {
            self.file_months().await?;
        }
        let mut dropped = 0;
        for month in self.store().event_months().await? {
            let keeping = Keeping::of(self.policy(), month, holds, as_of);
            let Some(whole) = keeping.whole() else {
                continue;
            };
            let gone = if dry_run {
                self.store().month_leaves_whole(month, whole).await?
            } else {
                self.store().drop_month(month, whole).await?.is_some()
            };
            if gone && !dry_run {
                // Cut short here, the notes the month left are accounted for by the next sweep.
                crate::crash::point(crate::crash::SWEEP_MONTH_DROPPED);
            }
            dropped += u64::from(gone);
        }
        Ok(dropped)
    }
}
