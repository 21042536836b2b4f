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

impl NoticeKind {
    /// The notice's title and text in a locale (ru by default).
    pub fn text(self, locale: &str) -> (&'static str, &'static str) {
        match (self, locale) {
            (NoticeKind::CourseUpdate, "kk") => (
                "Курстарыңыз жаңартылды",
                "Сіз оқып жүрген курстарда жаңа материалдар пайда болды. Жеке кабинетіңізге кіріңіз.",
            ),
            (NoticeKind::CourseUpdate, "en") => (
                "Your courses were updated",
                "New materials were added to the courses you study. Sign in to your cabinet to see them.",
            ),
            (NoticeKind::CourseUpdate, _) => (
                "Ваши курсы обновились",
                "В курсах, которые вы проходите, появились новые материалы. Загляните в личный кабинет.",
            ),
            (NoticeKind::NewFeature, "kk") => (
                "Vintrova-да жаңа мүмкіндік",
                "Платформада жаңа мүмкіндік пайда болды. Толығырақ жеке кабинетте.",
            ),
            (NoticeKind::NewFeature, "en") => (
                "Something new on Vintrova",
                "The platform has a new feature. Read more in your cabinet.",
            ),
            (NoticeKind::AccountIdle, "kk") => (
                "Аккаунтыңыз жабылады",
                "Сіз аккаунтыңызға ұзақ уақыт кірмедіңіз. Төменде көрсетілген күнге дейін кірмесеңіз, аккаунт жабылады және деректеріңіз құпиялылық саясатына сәйкес жойылады. Аккаунтты сақтау үшін жай ғана кіріңіз. Жабылу күні:",
            ),
            (NoticeKind::AccountIdle, "en") => (
                "Your account will close",
                "You have not signed in for a long time. Unless you sign in by the date below, your account will close and your data will be deleted as our privacy policy says. To keep it, simply sign in. Closing date:",
            ),
            (NoticeKind::AccountIdle, _) => (
                "Ваш аккаунт будет закрыт",
                "Вы давно не входили в аккаунт. Если вы не войдёте до указанной ниже даты, аккаунт будет закрыт, а ваши данные удалены согласно политике конфиденциальности. Чтобы сохранить аккаунт, просто войдите в него. Дата закрытия:",
            ),
            (NoticeKind::Incident, "kk") => (
                "Деректеріңізге қатысты қауіпсіздік оқиғасы",
                "Сіздің дербес деректеріңізге қатысты қауіпсіздік оқиғасы болды. Не болғаны және біз қандай шаралар қабылдағанымыз төменде жазылған. Сұрақтарыңыз болса, info@vintrova.com мекенжайына жазыңыз.",
            ),
            (NoticeKind::Incident, "en") => (
                "A security incident concerning your data",
                "A security incident affected your personal data. What happened and what we have done about it is written below. If you have questions, write to info@vintrova.com.",
            ),
            (NoticeKind::Incident, _) => (
                "Инцидент безопасности, затронувший ваши данные",
                "Произошёл инцидент безопасности, затронувший ваши персональные данные. Что случилось и какие меры мы приняли, описано ниже. Если у вас есть вопросы, напишите на info@vintrova.com.",
            ),
            (NoticeKind::PolicyChange, "kk") => (
                "Құпиялылық саясаты өзгереді",
                "Біздің құпиялылық саясатымыз өзгереді. Не өзгеретінін сайттан оқыңыз. Жаңа нұсқа мына күннен бастап қолданылады:",
            ),
            (NoticeKind::PolicyChange, "en") => (
                "Our privacy policy is changing",
                "Our privacy policy is changing. Read what changes on the website. The new version applies from:",
            ),
            (NoticeKind::PolicyChange, _) => (
                "Политика конфиденциальности изменится",
                "Наша политика конфиденциальности изменится. Что меняется — на сайте. Новая редакция действует с:",
            ),
            (NoticeKind::TransferAbroad, "kk") => (
                "Деректеріңіз шетелге беріледі",
                "Деректеріңіз шарт және қосымша қорғау шаралары негізінде деректерді тиісті қорғайтын елге беріледі. Ел және басталу күні:",
            ),
            (NoticeKind::TransferAbroad, "en") => (
                "Your data will go abroad",
                "Your data will be transferred, under a contract and extra safeguards, to a country with adequate protection. The country and the first day:",
            ),
            (NoticeKind::TransferAbroad, _) => (
                "Ваши данные будут переданы за рубеж",
                "Ваши данные будут передаваться на основании договора и с дополнительными мерами защиты в страну с надлежащей защитой данных. Страна и дата начала:",
            ),
            (NoticeKind::AccessDigest, "kk") => (
                "Деректеріңізді кім қарады: айлық есеп",
                "Өткен айда деректеріңізге кім және не үшін жүгінді:",
            ),
            (NoticeKind::AccessDigest, "en") => (
                "Who looked at your data: the monthly digest",
                "Who used your data last month, and for what:",
            ),
            (NoticeKind::AccessDigest, _) => (
                "Кто обращался к вашим данным: ежемесячная сводка",
                "Кто и для чего обращался к вашим данным в прошлом месяце:",
            ),
            (NoticeKind::NewFeature, _) => (
                "Новое на Vintrova",
                "На платформе появилась новая возможность. Подробнее — в личном кабинете.",
            ),
        }
    }
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
        let mut report = NoticeReport::default();
        for &subject in subjects {
            match self.authorize(subject, Use::Purpose(PURPOSE.into())).await {
                Ok(grant) => {
                    let Some(to) = self.address(&grant).await? else {
                        *report.not_sent.entry("no_address".into()).or_default() += 1;
                        continue;
                    };
                    let (_, body) = kind.text(&self.language_of(subject).await?);
                    self.queue_notice(actor, Action::Notify, PURPOSE, subject, kind, &to, body)
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

    /// Write a notice and its sealed message (to `to`, with `body`) in one transaction, audited
    /// as `action` for `purpose`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn queue_notice(
        &self,
        actor: &Actor,
        action: Action,
        purpose: &str,
        subject: Uuid,
        kind: NoticeKind,
        to: &str,
        body: &str,
    ) -> Result<()> {
        let notice = Notice {
            id: Uuid::now_v7(),
            subject,
            kind,
            queued_at: self.now(),
        };
        let (title, _) = kind.text(&self.language_of(subject).await?);
        let message = self.outbox_entry(
            Some(subject),
            &format!("notice:{}", kind.as_str()),
            to,
            title,
            body,
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
