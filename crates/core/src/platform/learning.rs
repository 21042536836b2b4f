//! Learning: the catalog of courses, webinars and consultations with their levels, enrollments
//! with progress and completion, and recommendations by level (R3.1 personalization).
//!
//! The catalog holds no personal data. An enrollment row keeps in clear only what the workflow
//! and retention need — its state, its completion time (which starts the 3-year clock for a
//! graduate's data, R8.1) and a keyed digest of the course for rosters; which course and how far
//! along are sealed education events of the enrollment, never rewritten.

use crate::names;
use crate::words::words;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::audit::Action;
use crate::gate::Use;
use crate::records::{Record, RecordKind, RecordView};
use crate::values::InvalidInput;
use crate::{Actor, Result, Vintrova};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Beginner,
    Intermediate,
    Advanced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OfferingKind {
    Course,
    Webinar,
    Consultation,
}

/// One thing the platform offers. No personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Offering {
    /// A slug such as `neural-networks-101`.
    pub id: String,
    pub kind: OfferingKind,
    pub level: Level,
    pub title_ru: String,
    pub title_kk: String,
    pub title_en: String,
}

impl Offering {
    /// Its title in `lang` (`ru`, `kk`, `en`); Russian for any other.
    pub fn title(&self, lang: &str) -> &str {
        match lang {
            "kk" => &self.title_kk,
            "en" => &self.title_en,
            _ => &self.title_ru,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentState {
    /// Enrolled in a course, signed up for a webinar, booked a consultation.
    Enrolled,
    /// Completed the course, attended the webinar, held the consultation.
    Completed,
    Cancelled,
}

words!(EnrollmentState {
    Enrolled => "enrolled",
    Completed => "completed",
    Cancelled => "cancelled",
});

/// An enrollment as stored: no PD in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Enrollment {
    pub id: Uuid,
    pub subject: Uuid,
    pub state: EnrollmentState,
    #[serde(skip)]
    pub course_digest: Vec<u8>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub completed_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

impl RecordView for Enrollment {
    const KIND: RecordKind = RecordKind::Enrollment;

    fn from_record(r: Record) -> Option<Self> {
        Some(Enrollment {
            id: r.id,
            subject: r.subject,
            state: EnrollmentState::parse(&r.state)?,
            course_digest: r.digest?,
            completed_at: r.anchored_at,
            created_at: r.created_at,
        })
    }

    fn into_record(self) -> Record {
        Record {
            id: self.id,
            subject: self.subject,
            kind: Self::KIND,
            state: self.state.as_str().to_string(),
            digest: Some(self.course_digest),
            anchored_at: self.completed_at,
            created_at: self.created_at,
            updated_at: self.created_at,
        }
    }
}

/// Recommendations for one person, and why.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recommendations {
    pub subject: Uuid,
    pub level: Level,
    /// What the level was read from: field names, never values.
    pub based_on: Vec<String>,
    pub offerings: Vec<Offering>,
}

/// The level a person studies at, from their education and experience: completed courses
/// weigh most, then years in IT.
pub fn level_of(completed: usize, experience_years: i64) -> Level {
    match (completed, experience_years) {
        (3.., _) | (_, 5..) => Level::Advanced,
        (1.., _) | (_, 2..) => Level::Intermediate,
        _ => Level::Beginner,
    }
}

impl Vintrova {
    pub(crate) fn course_digest(&self, course: &str) -> Vec<u8> {
        self.vault()
            .blind_index()
            .digest("education.course", course)
            .to_vec()
    }

    pub async fn add_offering(&self, offering: &Offering) -> Result<()> {
        let valid = !offering.id.is_empty()
            && offering.id.len() <= 100
            && offering
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            return Err(InvalidInput::one(
                "id",
                "not a slug",
                "lowercase latin letters, digits and `-`, at most 100",
            )
            .into());
        }
        for (field, title) in [
            ("title_ru", &offering.title_ru),
            ("title_kk", &offering.title_kk),
            ("title_en", &offering.title_en),
        ] {
            if title.trim().is_empty() || title.chars().count() > 200 {
                return Err(InvalidInput::one(
                    field,
                    "empty or longer than 200 characters",
                    "a title in every language",
                )
                .into());
            }
        }
        Ok(self.store().put_offering(offering).await?)
    }

    pub async fn catalog(&self) -> Result<Vec<Offering>> {
        Ok(self.store().offerings().await?)
    }

    /// Enroll a person (course, webinar sign-up, consultation booking) under the contract.
    pub async fn enroll(
        &self,
        actor: &Actor,
        subject: Uuid,
        offering: &str,
        source: &str,
    ) -> Result<Enrollment> {
        let Some(found) = self
            .store()
            .offerings()
            .await?
            .into_iter()
            .find(|o| o.id == offering)
        else {
            return Err(InvalidInput::one(
                "offering",
                "not in the catalog",
                "the id of a catalog offering",
            )
            .into());
        };
        self.authorize(subject, Use::Purpose(names::EDUCATION_ACCESS.into()))
            .await?;
        let id = Uuid::now_v7();
        let now = self.now();
        let enrollment = Enrollment {
            id,
            subject,
            state: EnrollmentState::Enrolled,
            course_digest: self.course_digest(&found.id),
            completed_at: None,
            created_at: now,
        };
        let record = self.parse_json(&json!({"education": {"course": found.id, "progress": 0}}))?;
        let sealed = self.seal(subject, &record, source, Some(id)).await?.events;
        let audit = self.draft(
            actor,
            Action::Create,
            Some(subject),
            vec![names::EDUCATION.into()],
            Some(names::EDUCATION_ACCESS.into()),
        );
        self.insert_record(enrollment, &sealed, &audit).await
    }

    /// Record progress; reaching 100 completes the enrollment, which starts the 3-year clock.
    pub async fn record_progress(
        &self,
        actor: &Actor,
        enrollment: Uuid,
        percent: i64,
    ) -> Result<Enrollment> {
        let found = self.require_enrollment(enrollment).await?;
        self.authorize(found.subject, Use::Purpose(names::EDUCATION_ACCESS.into()))
            .await?;
        let record = self.parse_json(&json!({"education": {"progress": percent}}))?;
        let sealed = self
            .seal(
                found.subject,
                &record,
                names::LEARNING_INTERACTION,
                Some(enrollment),
            )
            .await?
            .events;
        let (state, completed_at) = if percent == 100 {
            (EnrollmentState::Completed, Some(self.now()))
        } else {
            (EnrollmentState::Enrolled, None)
        };
        self.advance_enrollment(actor, found, state, completed_at, &sealed)
            .await
    }

    /// Mark an enrollment completed (course finished, webinar attended, consultation held).
    pub async fn complete(&self, actor: &Actor, enrollment: Uuid) -> Result<Enrollment> {
        self.record_progress(actor, enrollment, 100).await
    }

    pub async fn cancel_enrollment(&self, actor: &Actor, enrollment: Uuid) -> Result<Enrollment> {
        let found = self.require_enrollment(enrollment).await?;
        self.advance_enrollment(actor, found, EnrollmentState::Cancelled, None, &[])
            .await
    }

    async fn require_enrollment(&self, id: Uuid) -> Result<Enrollment> {
        let found = self.record::<Enrollment>(id).await?.ok_or_else(|| {
            InvalidInput::one(
                "enrollment",
                "not an enrollment of ours",
                "the id `enroll` returned",
            )
        })?;
        if found.state != EnrollmentState::Enrolled {
            return Err(InvalidInput::one(
                "enrollment",
                format!("is {}", found.state.as_str()),
                "an enrollment in progress",
            )
            .into());
        }
        Ok(found)
    }

    async fn advance_enrollment(
        &self,
        actor: &Actor,
        found: Enrollment,
        state: EnrollmentState,
        completed_at: Option<Timestamp>,
        sealed: &[crate::store::SealedEvent],
    ) -> Result<Enrollment> {
        let audit = self.draft(
            actor,
            Action::Update,
            Some(found.subject),
            vec![names::EDUCATION.into()],
            Some(names::EDUCATION_ACCESS.into()),
        );
        let next = Enrollment {
            state,
            completed_at,
            ..found
        };
        self.advance_record(next, sealed, &audit).await
    }

    /// People enrolled in one offering, for its teachers; found by the course's keyed digest.
    pub async fn roster(&self, offering: &str) -> Result<Vec<Enrollment>> {
        self.records_by_digest(&self.course_digest(offering)).await
    }

    /// Offerings at the person's level they have not taken, under the personalization purpose
    /// (contract). A restricted person gets none, and the refusal says so.
    pub async fn recommendations(&self, actor: &Actor, subject: Uuid) -> Result<Recommendations> {
        let grant = self
            .authorize(subject, Use::Purpose(names::PERSONALIZATION.into()))
            .await?;
        let opened = self.open(&grant).await?;
        let mut taken: Vec<String> = Vec::new();
        let mut completed = 0;
        let mut experience = 0;
        let mut based_on = Vec::new();
        for o in &opened {
            match o.field.as_str() {
                "education.completed_courses" => {
                    completed += o.value.as_array().map_or(0, Vec::len)
                }
                "education.course" => taken.extend(o.value.as_str().map(str::to_string)),
                "professional.it_experience_years" => experience = o.value.as_i64().unwrap_or(0),
                _ => continue,
            }
            if !based_on.contains(&o.field) {
                based_on.push(o.field.clone());
            }
        }
        for e in self.records::<Enrollment>(subject).await? {
            completed += usize::from(e.state == EnrollmentState::Completed);
        }
        let level = level_of(completed, experience);
        let offerings = self
            .catalog()
            .await?
            .into_iter()
            .filter(|o| o.level == level && !taken.contains(&o.id))
            .collect();
        let audit = self.draft(
            actor,
            Action::Read,
            Some(subject),
            vec![names::EDUCATION.into(), names::PROFESSIONAL.into()],
            Some(names::PERSONALIZATION.into()),
        );
        self.log(audit).await?;
        Ok(Recommendations {
            subject,
            level,
            based_on,
            offerings,
        })
    }
}
