//! "Who looked at my data" (issue 9): every touch of a person's data, read from the audit log —
//! when, by which role (never the staff member's name), which categories, for which purpose.
//! Staff accesses are listed one by one; the system's and the platform's processing is grouped
//! by month, purpose and action ("payment processing, 3 times in March") so the list stays
//! readable. Only the person's own entries are read: the log is searched by their id.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;
use uuid::Uuid;

use crate::{Result, Vintrova};

/// Who touched the data, as the person may be told.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
            let access = Access {
                who: who.clone(),
                action: e.action.clone(),
                categories: e.categories.clone(),
                purpose: e.purpose.clone(),
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
                    e.purpose,
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
}
