//! The retention sweep (R8.1, R8.2): data lives as long as the policy says and is then gone
//! for good. Page by page over everyone, the sweep decides from metadata alone — never a
//! decrypted value — what fell due, keeps what a legal hold covers, warns and then closes
//! accounts left unused, destroys the keys of classes that became empty, deletes rows and
//! index entries in short transactions, prunes the audit log's oldest part behind a
//! checkpoint, and returns a receipt of counts. A dry run decides the same way and changes
//! nothing, so both report the same numbers.

use crate::names;
use std::collections::{BTreeMap, BTreeSet};

use jiff::{Timestamp, ToSpan};
use serde::Serialize;
use uuid::Uuid;
use vintrova_policy::Policy;
use vintrova_vault::Shredder;

use crate::accounts::AccountStatus;
use crate::audit::{Action, AuditDraft};
use crate::datamap::DataMap;
use crate::gate::{Duty, Use};
use crate::holds::Hold;
use crate::letters::Letter;
use crate::receipts::{ErasureCause, KeptPart};
use crate::records::RecordKind;
use crate::retention::{self, Anchors};
use crate::store::{Expiry, Inventory, Leftovers};
use crate::values::InvalidInput;
use crate::{Actor, CoreError, Result, Vintrova};

/// Subjects read per page.
const PAGE: i64 = 200;
/// Rows deleted per transaction at most, so a writer never waits long for the lock.
pub const BATCH: usize = 500;
/// People carried out in one transaction at most (their audit entries are appended together).
const GROUP: usize = 50;
/// Audit entries deleted per statement.
const AUDIT_BATCH: i64 = 5_000;
/// How long a running sweep holds its lease before another server may take over.
pub const LEASE_MINUTES: i64 = 60;
pub const LEASE: &str = "retention.sweep";

#[derive(Debug, Clone, Copy, Default)]
pub struct SweepOptions {
    /// Decide as of this moment instead of now (a past day, or with `dry_run` a future one).
    pub as_of: Option<Timestamp>,
    /// Decide and count, change nothing.
    pub dry_run: bool,
}

/// Values and events of one category under one rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryCount {
    pub rule: String,
    pub category: String,
    pub values: u64,
    pub events: u64,
}

/// Records (orders, enrollments, tickets, requests) of one kind under one rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordCount {
    pub rule: String,
    pub kind: String,
    pub records: u64,
}

/// What a sweep deleted (or, dry, would delete): counts, never a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SweepReceipt {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub as_of: Timestamp,
    pub dry_run: bool,
    pub deleted: Vec<CategoryCount>,
    pub records_deleted: Vec<RecordCount>,
    /// Due, but kept by a legal hold.
    pub held: Vec<CategoryCount>,
    /// A person's key of a class whose last row went: destroyed with it.
    pub key_classes_emptied: u64,
    /// People of whom nothing is left: unknown from now on.
    pub subjects_removed: u64,
    /// Months of events that left whole, every event in them due (PostgreSQL files events by
    /// month; their events are counted in `deleted` as any other).
    pub event_months_dropped: u64,
    /// Accounts unused past the idle period, warned that they will close.
    pub accounts_warned: u64,
    /// Accounts still unused when the warning ran out: closed, the service ended.
    pub accounts_closed: u64,
    pub leftovers: Leftovers,
    pub audit_entries_pruned: u64,
}

impl SweepReceipt {
    fn new(as_of: Timestamp, dry_run: bool) -> Self {
        SweepReceipt {
            as_of,
            dry_run,
            deleted: vec![],
            records_deleted: vec![],
            held: vec![],
            key_classes_emptied: 0,
            subjects_removed: 0,
            event_months_dropped: 0,
            accounts_warned: 0,
            accounts_closed: 0,
            leftovers: Leftovers::default(),
            audit_entries_pruned: 0,
        }
    }

    /// Everything deleted, for a one-line summary.
    pub fn total_deleted(&self) -> u64 {
        self.deleted
            .iter()
            .map(|c| c.values + c.events)
            .chain(self.records_deleted.iter().map(|r| r.records))
            .sum()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdleStep {
    /// Warn that the account closes at this time.
    Warn { closes_at: Timestamp },
    /// Close it: the service ended at this time.
    Close { ended_at: Timestamp },
}

/// What the sweep does about one person.
#[derive(Debug, Default)]
struct SubjectPlan {
    expiry: Expiry,
    emptied: Vec<String>,
    idle: Option<IdleStep>,
    deleted: BTreeMap<(String, String), (u64, u64)>,
    records: BTreeMap<(String, String), u64>,
    held: BTreeMap<(String, String), (u64, u64)>,
    /// Categories the deleted rows were of, for the audit entry.
    categories: BTreeSet<String>,
    /// What stays when classes empty but the person remains: the receipt's "kept".
    kept: Vec<KeptPart>,
    /// An email address is held, so a receipt can be sent.
    reachable: bool,
}

impl SubjectPlan {
    /// Nothing to delete and no account to warn or close.
    fn is_empty_of_work(&self) -> bool {
        self.idle.is_none() && self.is_empty()
    }

    fn is_empty(&self) -> bool {
        let e = &self.expiry;
        e.fields.is_empty()
            && e.events.is_empty()
            && e.records.is_empty()
            && e.requests.is_empty()
            && !e.whole_subject
            && !e.dropped
    }
}

/// Sums of plans, folded into the receipt at the end.
#[derive(Default)]
struct Tally {
    deleted: BTreeMap<(String, String), (u64, u64)>,
    records: BTreeMap<(String, String), u64>,
    held: BTreeMap<(String, String), (u64, u64)>,
}

fn add_pairs(
    into: &mut BTreeMap<(String, String), (u64, u64)>,
    from: &BTreeMap<(String, String), (u64, u64)>,
) {
    for (k, (v, e)) in from {
        let t = into.entry(k.clone()).or_default();
        t.0 += v;
        t.1 += e;
    }
}

fn category_counts(from: BTreeMap<(String, String), (u64, u64)>) -> Vec<CategoryCount> {
    from.into_iter()
        .map(|((rule, category), (values, events))| CategoryCount {
            rule,
            category,
            values,
            events,
        })
        .collect()
}

/// The idle step an account is at, as of `as_of`.
fn idle_step(
    policy: &Policy,
    inv: &Inventory,
    anchors: &Anchors,
    as_of: Timestamp,
) -> Option<IdleStep> {
    let account = inv.account.as_ref()?;
    if account.status != AccountStatus::Active || anchors.service_ended.is_some() {
        return None;
    }
    let idle = policy
        .retention_rules
        .iter()
        .find_map(|r| r.idle.as_ref())?;
    let tz = policy.zone();
    let plus = |t: Timestamp, span: jiff::Span| {
        t.to_zoned_datetime(tz.clone())
            .checked_add(span)
            .map(|z| z.timestamp())
            .ok()
    };
    let last = account.last_seen_at.unwrap_or(account.created_at);
    if as_of < plus(last, idle.after_span())? {
        return None;
    }
    match account.idle_notice_at {
        None => Some(IdleStep::Warn {
            closes_at: plus(as_of, idle.notice_span())?,
        }),
        Some(warned) => {
            let closes_at = plus(warned, idle.notice_span())?;
            (as_of >= closes_at).then_some(IdleStep::Close {
                ended_at: closes_at,
            })
        }
    }
}

fn record_category(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Order => "payment",
        RecordKind::Enrollment => "education",
        RecordKind::Ticket => "contact",
    }
}

const REQUEST_CLASS: &str = "support";

/// One person's share of a page's work, ready to be carried out with others'.
struct Ready {
    /// Key classes destroyed before any row goes.
    classes: Vec<String>,
    categories: Vec<String>,
    /// Batches of events before the last, each its own transaction: a person with more rows
    /// than one transaction should hold.
    before: Vec<Expiry>,
    /// The rest: the last events, profile rows, records, requests and the receipt.
    last: Expiry,
    told: Option<crate::events::Event>,
}

/// People in groups of at most `BATCH` rows (and `GROUP` people) for a transaction each, in
/// the order they came.
fn together(ready: Vec<Ready>) -> Vec<Vec<Ready>> {
    let mut groups: Vec<Vec<Ready>> = Vec::new();
    let mut rows = 0;
    for person in ready {
        let own = person.last.events.len() + person.last.fields.len();
        match groups.last_mut() {
            Some(group) if rows + own <= BATCH && group.len() < GROUP => {
                rows += own;
                group.push(person);
            }
            _ => {
                rows = own;
                groups.push(vec![person]);
            }
        }
    }
    groups
}

/// Decide, from metadata alone, what of one person is due as of `as_of`.
fn plan(
    policy: &Policy,
    map: &DataMap,
    inv: &Inventory,
    holds: &[Hold],
    as_of: Timestamp,
) -> SubjectPlan {
    let subject = inv.subject;
    let mut anchors = Anchors::of(&inv.bases, &inv.consents, &inv.records, &inv.requests);
    let idle = idle_step(policy, inv, &anchors, as_of);
    if let Some(IdleStep::Close { ended_at }) = idle {
        anchors.service_ended = Some(ended_at);
    }
    let mut out = SubjectPlan {
        expiry: Expiry {
            subject,
            ..Expiry::default()
        },
        idle,
        ..SubjectPlan::default()
    };
    let held = |category: &str| holds.iter().any(|h| h.covers(subject, category, as_of));
    let is_due = |class: &str, collected_at, record| {
        policy.rule_of_class(class).and_then(|rule| {
            retention::due(policy, rule, collected_at, record, &anchors)
                .filter(|d| *d <= as_of)
                .map(|_| rule.key.clone())
        })
    };
    let mut before: BTreeSet<String> = BTreeSet::new();
    let mut remaining: BTreeSet<String> = BTreeSet::new();
    for v in &inv.values {
        before.insert(v.key_class.clone());
        let category = map
            .entry(&v.field)
            .map(|e| e.category.clone())
            .unwrap_or_else(|| v.field.split('.').next().unwrap_or_default().to_string());
        match is_due(&v.key_class, v.collected_at, None) {
            Some(rule) if held(&category) => out.held.entry((rule, category)).or_default().0 += 1,
            Some(rule) => {
                out.deleted.entry((rule, category.clone())).or_default().0 += 1;
                out.categories.insert(category);
                out.expiry.fields.push(v.field.clone());
                continue;
            }
            None => {}
        }
        remaining.insert(v.key_class.clone());
    }
    // What a dropped month took was due: it counts as deleted here, and its class may be empty.
    for d in &inv.dropped {
        before.insert(d.key_class.clone());
        if let Some(rule) = policy.rule_of_class(&d.key_class) {
            out.deleted
                .entry((rule.key.clone(), d.category.clone()))
                .or_default()
                .1 += d.events;
        }
        out.categories.insert(d.category.clone());
        out.expiry.dropped = true;
    }
    let mut live_records: BTreeSet<Uuid> = BTreeSet::new();
    for e in &inv.events {
        before.insert(e.key_class.clone());
        match is_due(&e.key_class, e.collected_at, e.record) {
            Some(rule) if held(&e.category) => {
                out.held.entry((rule, e.category.clone())).or_default().1 += 1
            }
            Some(rule) => {
                out.deleted.entry((rule, e.category.clone())).or_default().1 += 1;
                out.categories.insert(e.category.clone());
                out.expiry.events.push(e.id);
                continue;
            }
            None => {}
        }
        remaining.insert(e.key_class.clone());
        live_records.extend(e.record);
    }
    for r in &inv.records {
        let class = r.kind.key_class();
        before.insert(class.to_string());
        let due = is_due(class, r.created_at, Some(r.id));
        match due {
            Some(rule) if !live_records.contains(&r.id) && !held(record_category(r.kind)) => {
                *out.records
                    .entry((rule, r.kind.as_str().to_string()))
                    .or_default() += 1;
                out.expiry.records.push(r.id);
            }
            _ => {
                remaining.insert(class.to_string());
            }
        }
    }
    for r in &inv.requests {
        before.insert(REQUEST_CLASS.to_string());
        match is_due(REQUEST_CLASS, r.received_at, Some(r.id)) {
            Some(rule) if !live_records.contains(&r.id) && !held("contact") => {
                *out.records
                    .entry((rule, "request".to_string()))
                    .or_default() += 1;
                out.expiry.requests.push(r.id);
            }
            _ => {
                remaining.insert(REQUEST_CLASS.to_string());
            }
        }
    }
    out.emptied = before.difference(&remaining).cloned().collect();
    out.expiry.whole_subject = remaining.is_empty() && anchors.ended_by(as_of);
    if !out.emptied.is_empty() && !out.expiry.whole_subject {
        out.kept = kept(policy, map, inv, &anchors, &remaining);
    }
    out.reachable = inv
        .values
        .iter()
        .any(|v| v.field == crate::service::ADDRESS);
    out
}

/// For the receipt of classes the sweep empties: each class that stays, its categories, its
/// rule and when it falls due (the latest of its items; `None` while any has no date yet).
fn kept(
    policy: &Policy,
    map: &DataMap,
    inv: &Inventory,
    anchors: &Anchors,
    remaining: &BTreeSet<String>,
) -> Vec<KeptPart> {
    type Held = (BTreeSet<String>, Option<Option<Timestamp>>);
    let mut by_class: BTreeMap<&str, Held> = BTreeMap::new();
    let items = inv
        .values
        .iter()
        .map(|v| {
            let category = map.entry(&v.field).map(|e| e.category.clone());
            (v.key_class.as_str(), category, v.collected_at, None)
        })
        .chain(inv.events.iter().map(|e| {
            (
                e.key_class.as_str(),
                Some(e.category.clone()),
                e.collected_at,
                e.record,
            )
        }))
        .chain(inv.records.iter().map(|r| {
            let category = Some(record_category(r.kind).to_string());
            (r.kind.key_class(), category, r.created_at, Some(r.id))
        }));
    for (class, category, collected_at, record) in items {
        let (Some(category), Some(rule)) = (category, policy.rule_of_class(class)) else {
            continue;
        };
        if !remaining.contains(class) {
            continue;
        }
        let due = retention::due(policy, rule, collected_at, record, anchors);
        let entry = by_class.entry(class).or_default();
        entry.0.insert(category);
        entry.1 = Some(match entry.1 {
            None => due,
            Some(so_far) => so_far.zip(due).map(|(a, b)| a.max(b)),
        });
    }
    by_class
        .into_iter()
        .filter_map(|(class, (categories, until))| {
            Some(KeptPart {
                categories: categories.into_iter().collect(),
                rule: policy.rule_of_class(class)?.key.clone(),
                until: until.flatten(),
            })
        })
        .collect()
}

/// What the sweep will delete by the end of one month: the console's look ahead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonthAhead {
    /// The month's last day (Almaty).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub month_end: jiff::civil::Date,
    /// Values, events and records falling due by the month's end after those of the months
    /// before it (the first month also counts anything already due and not yet swept).
    pub items: u64,
    /// People of whom nothing will be left by its end, counting earlier months.
    pub subjects_removed: u64,
}

impl Vintrova {
    /// What falls due in each of the next `months` calendar months, read in one pass over the
    /// inventory with the sweep's own plan (so the look ahead and the sweep cannot disagree).
    pub async fn expiring_by_month(&self, months: usize) -> Result<Vec<MonthAhead>> {
        let zone = self.policy().zone();
        let today = self.now().to_zoned_datetime(zone.clone()).date();
        let mut ends = Vec::with_capacity(months);
        let mut first = today.first_of_month();
        for _ in 0..months {
            let next = first
                .checked_add(1.months())
                .map_err(|e| CoreError::Internal(e.to_string()))?;
            let end = next
                .to_zoned_datetime(zone.clone())
                .map_err(|e| CoreError::Internal(e.to_string()))?
                .timestamp();
            ends.push((
                next.yesterday()
                    .map_err(|e| CoreError::Internal(e.to_string()))?,
                end,
            ));
            first = next;
        }
        let holds = self.holds().await?;
        let mut totals = vec![(0u64, 0u64); months];
        let mut after = None;
        loop {
            let page = self.store().inventory(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.subject);
            for inv in &page {
                for (i, (_, end)) in ends.iter().enumerate() {
                    let plan = plan(self.policy(), self.data_map(), inv, &holds, *end);
                    let items = plan.deleted.values().map(|(v, e)| v + e).sum::<u64>()
                        + plan.records.values().sum::<u64>();
                    totals[i].0 += items;
                    totals[i].1 += u64::from(plan.expiry.whole_subject);
                }
            }
        }
        let mut before = 0;
        Ok(ends
            .iter()
            .zip(totals)
            .map(|((month_end, _), (cumulative, removed))| {
                let items = cumulative.saturating_sub(before);
                before = cumulative;
                MonthAhead {
                    month_end: *month_end,
                    items,
                    subjects_removed: removed,
                }
            })
            .collect())
    }

    /// Run the retention sweep over everyone.
    pub async fn sweep(&self, actor: &Actor, options: SweepOptions) -> Result<SweepReceipt> {
        let now = self.now();
        let as_of = options.as_of.unwrap_or(now);
        if !options.dry_run {
            // What a crash cut short is finished first, so the sweep sees no one half-erased.
            self.finish_erasures().await?;
        }
        if !options.dry_run && as_of > now {
            return Err(InvalidInput::one(
                "as_of",
                "a sweep as of a future date would delete data before it is due",
                "today or an earlier date; to look ahead, make it a dry run",
            )
            .into());
        }
        let holds = self.holds().await?;
        let mut receipt = SweepReceipt::new(as_of, options.dry_run);
        receipt.event_months_dropped = self.whole_months(&holds, as_of, options.dry_run).await?;
        let mut tally = Tally::default();
        let mut after = None;
        loop {
            let page = self.store().inventory(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.subject);
            let mut plans = Vec::with_capacity(page.len());
            for inv in &page {
                let plan = plan(self.policy(), self.data_map(), inv, &holds, as_of);
                match plan.idle {
                    Some(IdleStep::Warn { .. }) => receipt.accounts_warned += 1,
                    Some(IdleStep::Close { .. }) => receipt.accounts_closed += 1,
                    None => {}
                }
                receipt.key_classes_emptied += plan.emptied.len() as u64;
                receipt.subjects_removed += u64::from(plan.expiry.whole_subject);
                add_pairs(&mut tally.deleted, &plan.deleted);
                add_pairs(&mut tally.held, &plan.held);
                for (k, n) in &plan.records {
                    *tally.records.entry(k.clone()).or_default() += n;
                }
                if !options.dry_run && !plan.is_empty_of_work() {
                    plans.push(plan);
                }
            }
            // Each person's share is readied first (idle steps, receipts, the address read
            // while the keys are still there); then people go together, a few hundred rows to
            // a transaction with their keys destroyed in one key-store call, and where the
            // database gains from it several groups at once. Destroyed keys are scrubbed from
            // the key store's files once per page, even when a group failed.
            let shredder = self.vault().shredder();
            let applied = async {
                use futures_util::{StreamExt, TryStreamExt};
                let workers = self.store().parallel_writers().max(1);
                // Readied side by side where the database gains from it, kept in page order.
                let ready: Vec<Ready> = futures_util::stream::iter(plans)
                    .map(|plan| self.ready(actor, plan))
                    .buffered(workers)
                    .try_filter_map(|person| std::future::ready(Ok(person)))
                    .try_collect()
                    .await?;
                let mut groups = together(ready).into_iter().peekable();
                while groups.peek().is_some() {
                    let at_once = groups
                        .by_ref()
                        .take(workers)
                        .map(|group| self.apply(actor, group, &shredder));
                    futures_util::future::try_join_all(at_once).await?;
                }
                Ok::<_, CoreError>(())
            }
            .await;
            // The plan's own failure, if any, is the one to report; the scrub's comes second.
            let scrubbed = shredder.finish().await;
            applied?;
            scrubbed?;
        }
        receipt.deleted = category_counts(tally.deleted);
        receipt.held = category_counts(tally.held);
        receipt.records_deleted = tally
            .records
            .into_iter()
            .map(|((rule, kind), records)| RecordCount {
                rule,
                kind,
                records,
            })
            .collect();
        let logs = self.logs_rule();
        let logs_cutoff = as_of
            .to_zoned_datetime(self.policy().zone())
            .checked_sub(logs.span())
            .map(|z| z.timestamp())
            .unwrap_or(Timestamp::MIN);
        receipt.leftovers = self
            .store()
            .leftovers(as_of, logs_cutoff, options.dry_run)
            .await?;
        receipt.audit_entries_pruned = self.prune_audit(actor, as_of, options.dry_run).await?;
        if !options.dry_run {
            self.store().scrub().await?;
        }
        tracing::info!(
            dry_run = options.dry_run,
            deleted = receipt.total_deleted(),
            subjects_removed = receipt.subjects_removed,
            audit_pruned = receipt.audit_entries_pruned,
            "retention sweep finished"
        );
        Ok(receipt)
    }

    pub(crate) fn logs_rule(&self) -> &vintrova_policy::RetentionRule {
        self.policy()
            .rule_of_class("logs")
            .expect("a validated policy has a rule for every key class")
    }

    /// Take one person's idle step and ready the rest of their plan: the receipt, the
    /// platform's word of it, the keys to destroy and the rows in batches. `None` when the
    /// idle step was all there was.
    async fn ready(&self, actor: &Actor, mut plan: SubjectPlan) -> Result<Option<Ready>> {
        let subject = plan.expiry.subject;
        match plan.idle {
            Some(IdleStep::Warn { closes_at }) => self.warn_idle(actor, subject, closes_at).await?,
            Some(IdleStep::Close { .. }) => self.close_account(actor, subject).await?,
            None => {}
        }
        if plan.is_empty() {
            return Ok(None);
        }
        // Whenever keys go — the whole person, or classes whose last row fell due — the person
        // gets a receipt. The address is read before the keys go.
        let (mut receipt, mut told) = (None, None);
        if plan.expiry.whole_subject || !plan.emptied.is_empty() {
            let to = if plan.reachable {
                match self
                    .authorize(subject, Use::Duty(Duty::ErasureReceipt))
                    .await
                {
                    Ok(grant) => self.address(&grant).await?,
                    Err(CoreError::Refused(_)) => None,
                    Err(other) => return Err(other),
                }
            } else {
                None
            };
            let kept = std::mem::take(&mut plan.kept);
            let signed = self.sign_receipt(ErasureCause::Retention, &plan.categories, kept);
            let to = match to {
                Some(to) => Some((to, self.language_of(subject).await?)),
                None => None,
            };
            receipt = Some(self.receipted(&signed, ErasureCause::Retention, to));
            told = Some(self.erased_event(
                subject,
                &signed,
                ErasureCause::Retention,
                plan.expiry.whole_subject,
            ));
        }
        let classes: Vec<String> = if plan.expiry.whole_subject {
            self.policy()
                .retention_rules
                .iter()
                .map(|r| r.key_class.clone())
                .collect()
        } else {
            plan.emptied.clone()
        };
        let mut events = plan.expiry.events.chunks(BATCH).peekable();
        let mut last = plan.expiry.clone();
        last.events.clear();
        last.receipt = receipt;
        // Events go in batches; the last batch takes the profile rows, records and requests.
        let mut before = Vec::new();
        while let Some(chunk) = events.next() {
            if events.peek().is_none() && chunk.len() + last.fields.len() <= BATCH {
                last.events = chunk.to_vec();
                break;
            }
            before.push(Expiry {
                subject,
                events: chunk.to_vec(),
                ..Expiry::default()
            });
        }
        Ok(Some(Ready {
            classes,
            categories: plan.categories.into_iter().collect(),
            before,
            last,
            told,
        }))
    }

    /// Carry out a group's plans: keys first, all in one call, then each person's early
    /// batches, then everyone's last batch — receipts and the platform's word included — in
    /// one transaction.
    async fn apply(&self, actor: &Actor, group: Vec<Ready>, shredder: &Shredder<'_>) -> Result<()> {
        let owners: Vec<(Uuid, Vec<String>)> = group
            .iter()
            .filter(|r| !r.classes.is_empty())
            .map(|r| (r.last.subject, r.classes.clone()))
            .collect();
        // Whoever goes whole is journalled first, all with one sync, so a backup restored
        // later erases them again.
        let whole: Vec<Uuid> = group
            .iter()
            .filter(|r| r.last.whole_subject)
            .map(|r| r.last.subject)
            .collect();
        if !whole.is_empty() {
            self.journal_erasure(&whole)?;
        }
        // Keys first: from this moment every copy of these rows, in any backup, is noise.
        if !owners.is_empty() {
            shredder.destroy_many(&owners).await?;
            // Cut short here, the rows are still due: the next sweep plans the same people
            // again and ends them, receipts and all.
            crate::crash::point(crate::crash::SWEEP_KEYS_DESTROYED);
        }
        for person in &group {
            for batch in &person.before {
                let audit = self.expiry_entry(actor, person, None);
                self.audited(async |sealer| {
                    self.store()
                        .expire(std::slice::from_ref(batch), &[audit], sealer)
                        .await
                })
                .await?;
            }
        }
        let audits: Vec<AuditDraft> = group
            .iter()
            .map(|person| self.expiry_entry(actor, person, person.told.clone()))
            .collect();
        let lasts: Vec<Expiry> = group.into_iter().map(|person| person.last).collect();
        self.audited(async |sealer| self.store().expire(&lasts, &audits, sealer).await)
            .await
    }

    /// The audit entry of one of a person's batches; the last one carries the platform's word.
    fn expiry_entry(
        &self,
        actor: &Actor,
        person: &Ready,
        told: Option<crate::events::Event>,
    ) -> AuditDraft {
        let mut audit = self.draft(
            actor,
            Action::Expire,
            Some(person.last.subject),
            person.categories.clone(),
            None,
        );
        audit.event = told;
        audit
    }

    /// Tell a person whose account has gone unused that it will close, through the contract's
    /// purpose (the address is read through the gate). Without an address, or refused, the
    /// warning is noted all the same, so the account still closes when it runs out.
    async fn warn_idle(&self, actor: &Actor, subject: Uuid, closes_at: Timestamp) -> Result<()> {
        let address = match self
            .authorize(subject, Use::Purpose(names::EDUCATION_ACCESS.into()))
            .await
        {
            Ok(grant) => self.address(&grant).await?,
            Err(CoreError::Refused(_)) => None,
            Err(other) => return Err(other),
        };
        if let Some(to) = address {
            let closes = closes_at.to_zoned_datetime(self.policy().zone()).date();
            self.queue_notice(
                actor,
                (Action::WarnIdle, "education_access"),
                subject,
                &to,
                Letter::AccountIdle { closes },
            )
            .await?;
        }
        self.store().mark_idle_notice(subject, self.now()).await?;
        Ok(())
    }

    /// Prune audit entries older than the logs term: the key store records the cut first, so
    /// the chain verifies from it even if the deletion is interrupted.
    async fn prune_audit(&self, actor: &Actor, as_of: Timestamp, dry_run: bool) -> Result<u64> {
        let logs = self.logs_rule();
        let keys = self.vault().key_store();
        let checkpoint = keys
            .chain_checkpoint()
            .await
            .map_err(vintrova_vault::VaultError::from)?;
        let mut after = checkpoint.as_ref().map_or(0, |c| c.0);
        let mut cut: Option<(i64, Vec<u8>, Timestamp)> = None;
        'pages: loop {
            let page = self.store().audit_page(after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for entry in page {
                let due = retention::due(
                    self.policy(),
                    logs,
                    entry.entry.at,
                    None,
                    &Anchors::default(),
                );
                if due.is_none_or(|d| d > as_of) {
                    break 'pages;
                }
                cut = Some((entry.seq, entry.hash, entry.entry.at));
            }
        }
        let Some((seq, hash, pruned_at)) = cut else {
            return Ok(0);
        };
        let pruned = (seq - checkpoint.map_or(0, |c| c.0)) as u64;
        if dry_run {
            return Ok(pruned);
        }
        // Signed, with the time of the last entry it prunes: verify refuses a cut anyone else
        // wrote, and one younger than the logs term.
        self.vault()
            .set_checkpoint(seq, &hash, &pruned_at.to_string())
            .await?;
        while self.store().prune_audit(seq, AUDIT_BATCH).await? > 0 {}
        // The log may now start after the checkpoint, or hold nothing: the appender reads the
        // new checkpoint before it builds on what is left.
        self.reload_durable_head();
        let audit = self.draft(actor, Action::PruneAudit, None, vec![], None);
        self.log(audit).await?;
        Ok(pruned)
    }

    /// Run the sweep if no other server is running one; `None` when one is. The lease lives
    /// in the database, so it holds across servers; a crashed holder's lease runs out.
    pub async fn sweep_exclusively(
        &self,
        actor: &Actor,
        holder: &str,
        options: SweepOptions,
    ) -> Result<Option<SweepReceipt>> {
        self.exclusively(LEASE, holder, LEASE_MINUTES, self.sweep(actor, options))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::AccountRecord;
    use crate::store::{EventMeta, ValueMeta};

    fn policy() -> Policy {
        crate::shipped_policy()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn inventory(subject: Uuid) -> Inventory {
        Inventory {
            subject,
            values: vec![ValueMeta {
                field: "contact.email".into(),
                key_class: "profile".into(),
                collected_at: at("2024-06-01T00:00:00Z"),
            }],
            events: vec![EventMeta {
                id: Uuid::now_v7(),
                category: "technical".into(),
                key_class: "logs".into(),
                collected_at: at("2024-06-01T00:00:00Z"),
                record: None,
            }],
            records: vec![],
            requests: vec![],
            bases: vec![],
            consents: vec![],
            dropped: vec![],
            account: Some(AccountRecord {
                subject,
                password_hash: String::new(),
                status: AccountStatus::Active,
                created_at: at("2024-06-01T00:00:00Z"),
                last_seen_at: None,
                idle_notice_at: None,
            }),
        }
    }

    #[test]
    fn logs_go_after_a_year_and_the_profile_stays_while_the_account_is_used() {
        let policy = policy();
        let map = DataMap::from_policy(&policy);
        let inv = inventory(Uuid::now_v7());
        let early = plan(&policy, &map, &inv, &[], at("2025-05-31T23:59:59Z"));
        assert!(early.is_empty(), "nothing is due a second early");
        let due = plan(&policy, &map, &inv, &[], at("2025-06-01T00:00:00Z"));
        assert_eq!(due.expiry.events.len(), 1);
        assert!(due.expiry.fields.is_empty());
        assert_eq!(due.emptied, vec!["logs".to_string()]);
        assert!(!due.expiry.whole_subject);
    }

    #[test]
    fn an_unused_account_is_warned_then_closed_and_its_profile_goes() {
        let policy = policy();
        let map = DataMap::from_policy(&policy);
        let mut inv = inventory(Uuid::now_v7());
        let early = plan(&policy, &map, &inv, &[], at("2026-05-31T23:59:59Z"));
        assert_eq!(early.idle, None, "two years have not passed");
        let warned = plan(&policy, &map, &inv, &[], at("2026-06-01T00:00:00Z"));
        assert!(matches!(warned.idle, Some(IdleStep::Warn { .. })));
        assert!(warned.expiry.fields.is_empty());
        inv.account.as_mut().unwrap().idle_notice_at = Some(at("2026-06-01T00:00:00Z"));
        let waiting = plan(&policy, &map, &inv, &[], at("2026-06-30T23:59:59Z"));
        assert_eq!(waiting.idle, None, "the notice period has not run out");
        let closed = plan(&policy, &map, &inv, &[], at("2026-07-01T00:00:00Z"));
        assert!(matches!(closed.idle, Some(IdleStep::Close { .. })));
        assert_eq!(closed.expiry.fields, vec!["contact.email".to_string()]);
        assert!(closed.expiry.whole_subject, "nothing else is left");
    }

    #[test]
    fn people_go_together_up_to_a_transactions_rows_and_in_the_order_they_came() {
        let person = |rows: usize| Ready {
            classes: vec!["logs".into()],
            categories: vec![],
            before: vec![],
            last: Expiry {
                subject: Uuid::now_v7(),
                events: (0..rows).map(|_| Uuid::now_v7()).collect(),
                ..Expiry::default()
            },
            told: None,
        };
        let people: Vec<Ready> = [100, 100, 100, 100, 100, 1, 400, 200, BATCH]
            .into_iter()
            .map(person)
            .collect();
        let order: Vec<Uuid> = people.iter().map(|p| p.last.subject).collect();
        let groups = together(people);
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![5, 2, 1, 1], "500 rows at most to a transaction");
        let after: Vec<Uuid> = groups.iter().flatten().map(|p| p.last.subject).collect();
        assert_eq!(after, order);
        let empty: Vec<Ready> = (0..GROUP + 1).map(|_| person(0)).collect();
        let sizes: Vec<usize> = together(empty).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![GROUP, 1], "and a bounded number of people");
    }
}
