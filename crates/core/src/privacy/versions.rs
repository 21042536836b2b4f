//! Policy versions (R10.1): publishing a new `policy/vintrova.toml` with its computed diff and its
//! effective date. A material change takes effect no sooner than 30 days after it is published,
//! every person is told through the outbox (in batches, resumable, exactly once each, under the
//! law's duty), and the home page shows the notice until the date. Every version stays readable
//! in the ledger, whole.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use vintrova_policy::{Change, PolicyDiff};

use crate::audit::Action;
use crate::events::{Event, EventKind};
use crate::gate::{Duty, Use};
use crate::letters::Letter;
use crate::notifications::NoticeKind;
use crate::values::InvalidInput;
use crate::{Actor, CoreError, Result, Vintrova};

const BOOK: &str = "policy_versions";
/// Days between publishing a material change and its taking effect.
pub const NOTICE_DAYS: i64 = 30;
const BATCH: i64 = 500;

/// A published version, with what changed and the text itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishedVersion {
    pub version: String,
    /// The previous version it was compared with.
    pub replaces: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub effective: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub published_at: Timestamp,
    pub material: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub changes: Vec<Change>,
    /// The policy's TOML, whole, for the public archive.
    pub text: String,
}

/// What an announcement run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Announcement {
    pub queued: u64,
    pub already_told: u64,
    pub no_address: u64,
}

fn version_entity(version: &str) -> Uuid {
    let digest = Sha256::digest(format!("policy-version:{version}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

impl Vintrova {
    fn today(&self) -> Date {
        self.now().to_zoned_datetime(self.policy().zone()).date()
    }

    /// Every published version, oldest first.
    pub async fn policy_versions(&self) -> Result<Vec<PublishedVersion>> {
        self.ledger(BOOK, None)
            .await?
            .iter()
            .map(|e| e.body::<PublishedVersion>())
            .collect()
    }

    /// The newest published version: the baseline a new one is compared with.
    async fn latest_policy_text(&self) -> Result<Option<PublishedVersion>> {
        Ok(self.policy_versions().await?.pop())
    }

    /// A published version not yet in effect, for the home page's notice.
    pub async fn pending_policy(&self) -> Result<Option<PublishedVersion>> {
        let today = self.today();
        Ok(self
            .policy_versions()
            .await?
            .into_iter()
            .rfind(|v| v.material && v.effective > today))
    }

    fn parse_policy(&self, text: &str) -> Result<vintrova_policy::Policy> {
        vintrova_policy::load(text).map_err(|e| {
            InvalidInput::one(
                "file",
                format!("is not a valid policy: {e}"),
                "a policy that `vintrova policy check --file` accepts",
            )
            .into()
        })
    }

    /// What `text` changes against the newest published version (or the policy in force).
    pub async fn diff_policy(&self, text: &str) -> Result<PolicyDiff> {
        let new = self.parse_policy(text)?;
        let old = match self.latest_policy_text().await? {
            Some(v) => self.parse_policy(&v.text)?,
            None => self.policy().clone(),
        };
        Ok(vintrova_policy::diff(&old, &new))
    }

    /// Publish `text` to take effect on `effective`. A material change needs 30 days' notice;
    /// a version number is published once.
    pub async fn publish_policy(
        &self,
        actor: &Actor,
        text: &str,
        effective: Date,
    ) -> Result<PublishedVersion> {
        let new = self.parse_policy(text)?;
        let diff = self.diff_policy(text).await?;
        let today = self.today();
        let mut problems = InvalidInput::default();
        let published = self.policy_versions().await?;
        if new.version == self.policy().version
            || published.iter().any(|v| v.version == new.version)
        {
            problems.push(
                "version",
                format!("`{}` is already published", new.version),
                "a new version number in the file",
            );
        }
        for lack in crate::names::missing(&new) {
            problems.push(
                "file",
                format!("lacks {lack}"),
                "a policy that keeps every purpose, field and source Vintrova relies on",
            );
        }
        if diff.changes.is_empty() {
            problems.push(
                "file",
                "changes nothing",
                "a policy that differs from the current one",
            );
        }
        let earliest = today
            .checked_add(jiff::Span::new().days(NOTICE_DAYS))
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        if diff.is_material() && effective < earliest {
            problems.push(
                "effective",
                format!("{effective} gives people less than {NOTICE_DAYS} days' notice of a material change"),
                format!("{earliest} or later"),
            );
        } else if effective < today {
            problems.push("effective", "is in the past", "today or later");
        }
        problems.into_result()?;
        let version = PublishedVersion {
            version: new.version.clone(),
            replaces: diff.from.clone(),
            effective,
            published_at: self.now(),
            material: diff.is_material(),
            changes: diff.changes,
            text: text.to_string(),
        };
        self.archive(actor, &version).await?;
        Ok(version)
    }

    /// Put a version in the archive, whole, under its version's entity (one entry per version).
    async fn archive(&self, actor: &Actor, version: &PublishedVersion) -> Result<()> {
        let told = Event {
            kind: EventKind::PolicyPublished,
            subject: None,
            data: serde_json::json!({
                "version": version.version,
                "replaces": version.replaces,
                "in_force_from": version.effective,
                "material": version.material,
            }),
        };
        self.append_ledger_telling(
            actor,
            (BOOK, version_entity(&version.version)),
            version,
            (Action::PublishPolicy, Some(told)),
            vec![],
        )
        .await?;
        Ok(())
    }

    /// Keep the policy in force in the archive, whole, when it is not there yet — at a first
    /// start, or the first start of a version older than the archive — so the public archive
    /// shows every version ever in force, the first included. `text` is the file the policy
    /// in force was read from. Returns whether it was recorded now.
    pub async fn archive_policy_in_force(&self, actor: &Actor, text: &str) -> Result<bool> {
        let in_force = self.policy().clone();
        if self
            .policy_versions()
            .await?
            .iter()
            .any(|v| v.version == in_force.version)
        {
            return Ok(false);
        }
        let read = self.parse_policy(text)?;
        if read.version != in_force.version {
            return Err(CoreError::Internal(format!(
                "the policy file holds version {} but {} is in force; archive the file it was read from",
                read.version, in_force.version
            )));
        }
        let version = PublishedVersion {
            version: in_force.version.clone(),
            replaces: String::new(),
            effective: in_force.effective,
            published_at: self.now(),
            material: false,
            changes: vec![],
            text: text.to_string(),
        };
        self.archive(actor, &version).await?;
        Ok(true)
    }

    /// Tell every person of a published version, through the outbox, under the law's duty (the
    /// address only). Page by page, and whoever already has this version's notice is skipped, so
    /// a run cut short is simply run again.
    pub async fn announce_policy(&self, actor: &Actor, version: &str) -> Result<Announcement> {
        let Some(published) = self
            .policy_versions()
            .await?
            .into_iter()
            .find(|v| v.version == version)
        else {
            return Err(InvalidInput::one(
                "version",
                format!("`{version}` is not published"),
                "a version from `vintrova policy list`",
            )
            .into());
        };
        // Told later than 30 days ahead, a person would have less notice than the law gives.
        let earliest = self
            .today()
            .checked_add(jiff::Span::new().days(NOTICE_DAYS))
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        if published.material && published.effective < earliest {
            return Err(InvalidInput::one(
                "version",
                format!(
                    "`{version}` takes effect on {}: people told today would have fewer than {NOTICE_DAYS} days' notice of a material change",
                    published.effective
                ),
                format!(
                    "the same change published again as a new version taking effect on {earliest} or later, then announced"
                ),
            )
            .into());
        }
        let mut report = Announcement::default();
        let duty = Use::Duty(Duty::PolicyNotice);
        let mut after = None;
        loop {
            let page = self.store().subject_ids(after, BATCH).await?;
            let Some(last) = page.last().copied() else {
                break;
            };
            after = Some(last);
            for subject in page {
                let told = self.store().notices(subject).await?.iter().any(|n| {
                    n.kind == NoticeKind::PolicyChange && n.queued_at >= published.published_at
                });
                if told {
                    report.already_told += 1;
                    continue;
                }
                let grant = match self.authorize(subject, duty.clone()).await {
                    Ok(grant) => grant,
                    Err(CoreError::UnknownSubject(_)) => continue,
                    Err(e) => return Err(e),
                };
                let Some(to) = self.address(&grant).await? else {
                    report.no_address += 1;
                    continue;
                };
                self.queue_notice(
                    actor,
                    (Action::Notify, &duty.label()),
                    subject,
                    &to,
                    Letter::PolicyChange {
                        effective: published.effective,
                    },
                )
                .await?;
                report.queued += 1;
            }
        }
        Ok(report)
    }
}
