//! Important notices about course updates and new features (R3.1 notifications): only to people
//! who consented and did not object to direct marketing, and every one recorded.
//!
//! A notice is written with its message, in one transaction; the address is read through the
//! purpose gate, and the message waits sealed in the outbox until the worker delivers it.

use crate::names;
use crate::words::words;
use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::Action;
use crate::gate::Use;
use crate::letters::Letter;
use crate::values::{InvalidInput, Refused};
use crate::{Actor, CoreError, Result, Vintrova};

pub const PURPOSE: &str = crate::names::NOTIFICATIONS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    CourseUpdate,
    NewFeature,
    /// An account unused for long will close (sent under the contract, not marketing).
    AccountIdle,
    /// A security incident affected the person's data (R7.9; sent by law, whatever the
    /// consents).
    Incident,
    /// The privacy policy will change (R10.1; sent by law).
    PolicyChange,
    /// The person's data will go abroad (R9.2; sent by law).
    TransferAbroad,
    /// The monthly digest of who looked at the person's data, which they asked for.
    AccessDigest,
}

words!(NoticeKind {
    CourseUpdate => "course_update",
    NewFeature => "new_feature",
    AccountIdle => "account_idle",
    Incident => "incident",
    PolicyChange => "policy_change",
    TransferAbroad => "transfer_abroad",
    AccessDigest => "access_digest",
});

/// The notices staff send: news of the courses and the platform. Every other kind Vintrova
/// sends itself, when its moment comes and with what it must say (a date, a country, what
/// happened) — never as a bare announcement.
pub const ANNOUNCED: [NoticeKind; 2] = [NoticeKind::CourseUpdate, NoticeKind::NewFeature];

fn announced(kind: NoticeKind) -> Result<(), InvalidInput> {
    if ANNOUNCED.contains(&kind) {
        return Ok(());
    }
    Err(InvalidInput::coded(
        "kind",
        Refused::new(
            "not_a_choice",
            format!(
                "`{}` is sent by Vintrova itself, when its moment comes",
                kind.as_str()
            ),
            "course_update or new_feature",
        ),
    ))
}

/// A queued notice: who, what kind, when. Its message waits, sealed, in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notice {
    pub id: Uuid,
    pub subject: Uuid,
    pub kind: NoticeKind,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub queued_at: Timestamp,
}

/// What a send run did: how many were queued, and how many were not, by the gate's rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeReport {
    pub queued: u64,
    /// Refusals by rule (`no_consent`, `consent_withdrawn`, `objected`, `restricted`).
    pub not_sent: BTreeMap<String, u64>,
}

impl Vintrova {
    /// Queue a notice of `kind` for each of `subjects` the gate lets it reach.
    pub async fn notify(
        &self,
        actor: &Actor,
        kind: NoticeKind,
        subjects: &[Uuid],
    ) -> Result<NoticeReport> {
        announced(kind)?;
        let mut report = NoticeReport::default();
        for &subject in subjects {
            match self.authorize(subject, Use::Purpose(PURPOSE.into())).await {
                Ok(grant) => {
                    let Some(to) = self.address(&grant).await? else {
                        *report.not_sent.entry("no_address".into()).or_default() += 1;
                        continue;
                    };
                    self.queue_notice(
                        actor,
                        (Action::Notify, PURPOSE),
                        subject,
                        &to,
                        Letter::Notice(kind),
                    )
                    .await?;
                    report.queued += 1;
                }
                Err(CoreError::Refused(refusal)) => {
                    *report
                        .not_sent
                        .entry(refusal.rule().to_string())
                        .or_default() += 1;
                }
                Err(CoreError::UnknownSubject(_)) => {
                    *report.not_sent.entry("unknown_subject".into()).or_default() += 1;
                }
                Err(other) => return Err(other),
            }
        }
        Ok(report)
    }

    /// Write a notice and its sealed message (`letter`, to `to`, in the person's language) in
    /// one transaction, audited as `action` for `purpose`.
    pub(crate) async fn queue_notice(
        &self,
        actor: &Actor,
        (action, purpose): (Action, &str),
        subject: Uuid,
        to: &str,
        letter: Letter<'_>,
    ) -> Result<()> {
        let kind = letter
            .notice()
            .expect("a notice is written as one of the notice letters");
        let notice = Notice {
            id: Uuid::now_v7(),
            subject,
            kind,
            queued_at: self.now(),
        };
        let (title, body) = letter.write(&self.language_of(subject).await?);
        let message = self.outbox_entry(
            Some(subject),
            &format!("notice:{}", kind.as_str()),
            to,
            &title,
            &body,
        );
        let audit = self.draft(
            actor,
            action,
            Some(subject),
            vec![names::CONTACT.into()],
            Some(purpose.into()),
        );
        self.audited(async |sealer| {
            self.store()
                .insert_notice(&notice, &message, &audit, sealer)
                .await
        })
        .await
    }

    /// The notices sent to a person, for their cabinet: kinds and times.
    pub async fn notices_of(&self, subject: Uuid) -> Result<Vec<Notice>> {
        Ok(self.store().notices(subject).await?)
    }

    /// Queue a notice for everyone the gate lets it reach, page by page.
    pub async fn notify_all(&self, actor: &Actor, kind: NoticeKind) -> Result<NoticeReport> {
        announced(kind)?;
        let mut total = NoticeReport::default();
        let mut after = None;
        loop {
            let page = self.store().subject_ids(after, 500).await?;
            let Some(last) = page.last().copied() else {
                break;
            };
            let report = self.notify(actor, kind, &page).await?;
            total.queued += report.queued;
            for (rule, n) in report.not_sent {
                *total.not_sent.entry(rule).or_default() += n;
            }
            after = Some(last);
        }
        Ok(total)
    }
}
