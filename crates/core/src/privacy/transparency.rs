//! "Who looked at my data" (issue 9): every touch of a person's data, read from the audit log —
//! when, by which role (never the staff member's name), which categories, for which purpose.
//! Staff accesses are listed one by one; the system's and the platform's processing is grouped
//! by month, purpose and action ("payment processing, 3 times in March") so the list stays
//! readable. Only the person's own entries are read: the log is searched by their id.

use std::collections::BTreeMap;

use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::Action;
use crate::gate::{Duty, Use};
use crate::letters::Letter;
use crate::notifications::NoticeKind;
use crate::{Actor, CoreError, Result, Vintrova};

/// Who touched the data, as the person may be told.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "role", rename_all = "snake_case")]
pub enum Accessor {
    /// A staff member of this role.
    Staff(String),
    /// The person themself (the cabinet, the site).
    You,
    /// The education platform's back end.
    Platform,
    /// Vintrova's own jobs (retention, delivery, the payment provider's callbacks).
    System,
    /// The operator at the command line.
    Operator,
}

impl Accessor {
    fn of(actor: &str) -> Accessor {
        let mut parts = actor.splitn(3, ':');
        match (parts.next(), parts.next()) {
            (Some("staff"), Some(role)) => Accessor::Staff(role.to_string()),
            (Some("person" | "site"), _) => Accessor::You,
            (Some("api"), _) => Accessor::Platform,
            (Some("cli"), _) => Accessor::Operator,
            _ => Accessor::System,
        }
    }

    fn is_staff(&self) -> bool {
        matches!(self, Accessor::Staff(_))
    }
}

/// One line of the list: a staff access, or a month's worth of one kind of processing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Access {
    pub who: Accessor,
    pub action: String,
    pub categories: Vec<String>,
    pub purpose: Option<String>,
    /// The first and last time; equal for a single access.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub first: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub last: Timestamp,
    pub times: u64,
}

impl Vintrova {
    /// Every access to `subject`'s data, newest first.
    pub async fn who_looked(&self, subject: Uuid) -> Result<Vec<Access>> {
        let zone = self.policy().zone();
        let entries = self.store().audit_of(subject).await?;
        let mut lines: Vec<Access> = vec![];
        type Key = (Accessor, String, Option<String>, Vec<String>, (i16, i8));
        let mut grouped: BTreeMap<Key, Access> = BTreeMap::new();
        for record in entries {
            let e = record.entry;
            let who = Accessor::of(&e.actor);
            // What the person reads is why someone looked: the reason staff stated, else the
            // use that was granted.
            let purpose = e.stated_purpose.or(e.purpose);
            let access = Access {
                who: who.clone(),
                action: e.action.clone(),
                categories: e.categories.clone(),
                purpose: purpose.clone(),
                first: e.at,
                last: e.at,
                times: 1,
            };
            if who.is_staff() {
                lines.push(access);
                continue;
            }
            let day = e.at.to_zoned_datetime(zone.clone()).date();
            grouped
                .entry((
                    who,
                    e.action,
                    purpose,
                    e.categories,
                    (day.year(), day.month()),
                ))
                .and_modify(|a| {
                    a.last = e.at;
                    a.times += 1;
                })
                .or_insert(access);
        }
        lines.extend(grouped.into_values());
        lines.sort_by_key(|a| std::cmp::Reverse(a.last));
        Ok(lines)
    }

    /// Start (`on`) or stop the monthly email digest of who looked at the person's data.
    pub async fn set_access_digest(&self, subject: Uuid, on: bool) -> Result<()> {
        let since = on.then(|| self.now());
        Ok(self.store().set_access_digest(subject, since).await?)
    }

    /// Since when the person receives the digest, if they asked for it.
    pub async fn access_digest(&self, subject: Uuid) -> Result<Option<Timestamp>> {
        Ok(self.store().access_digest(subject).await?)
    }

    /// The lease that keeps two servers from sending the same month's digests at once.
    pub const DIGEST_LEASE: &'static str = "transparency.digest";

    /// Send every subscriber the digest of the last whole calendar month (Almaty), once: each
    /// account notes the month its digest went out, so an hourly run finds who is still due in
    /// one query per page and the rest of the month costs nothing. Returns how many were queued.
    pub async fn send_access_digests(&self, actor: &Actor) -> Result<u64> {
        let zone = self.policy().zone();
        let today = self.now().to_zoned_datetime(zone.clone()).date();
        let this_month = today
            .first_of_month()
            .to_zoned_datetime(zone.clone())
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let last_month = this_month
            .checked_sub(1.month())
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let (from, to) = (last_month.timestamp(), this_month.timestamp());
        let month = today.strftime("%Y-%m").to_string();
        let mut queued = 0;
        let mut after = None;
        loop {
            let page = self.store().access_digests_due(&month, after, 500).await?;
            let Some(last) = page.last().copied() else {
                break;
            };
            after = Some(last);
            for subject in page {
                // A run cut short between queueing and noting the month must not send twice.
                let sent = self
                    .notices_of(subject)
                    .await?
                    .iter()
                    .any(|n| n.kind == NoticeKind::AccessDigest && n.queued_at >= to);
                let address = if sent {
                    None
                } else {
                    match self.authorize(subject, Use::Duty(Duty::AccessDigest)).await {
                        Ok(grant) => self.address(&grant).await?,
                        Err(CoreError::Refused(_) | CoreError::UnknownSubject(_)) => None,
                        Err(e) => return Err(e),
                    }
                };
                let Some(address) = address else {
                    // Nothing to send this month (already sent, or no address to send to).
                    self.store().mark_access_digest(subject, &month).await?;
                    continue;
                };
                let lines: Vec<Access> = self
                    .who_looked(subject)
                    .await?
                    .into_iter()
                    .filter(|a| a.who != Accessor::You && a.last >= from && a.first < to)
                    .collect();
                let letter = Letter::AccessDigest {
                    from: last_month.date(),
                    to: this_month.date().yesterday().unwrap_or(this_month.date()),
                    lines: &lines,
                    policy: self.policy(),
                };
                self.queue_notice(
                    actor,
                    (Action::Notify, &Use::Duty(Duty::AccessDigest).label()),
                    subject,
                    &address,
                    letter,
                )
                .await?;
                self.store().mark_access_digest(subject, &month).await?;
                queued += 1;
            }
        }
        Ok(queued)
    }
}
