//! Anonymized learning analytics (R5.3, R3.1 "analysis of learning effectiveness"): enrollments,
//! completion and time to complete, by course and level, of the people who consented to
//! analytics — with no direct identifier, quasi-identifiers generalized (the enrollment's quarter
//! or year, the learner's experience as a band of completed courses), and every group of fewer
//! than k people suppressed (k ≥ 5). The export checks its own output and refuses to release a
//! file that fails the check; a population too small to hide anyone in is refused outright.
//!
//! Built from the records alone: no personal value is decrypted to make it. The gate is asked
//! for each person, so someone without the analytics consent is not in the file at all.

use crate::names;
use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use uuid::Uuid;

use crate::disclosures::{Disclosure, DisclosureRequest};
use crate::gate::Use;
use crate::learning::{Enrollment, EnrollmentState, Offering};
use crate::values::InvalidInput;
use crate::{Actor, CoreError, Result, Vintrova};

/// The smallest group a release may hold.
pub const MIN_K: usize = 5;
const PURPOSE: &str = crate::names::LEARNING_ANALYTICS;

/// One enrollment before anonymization: what the records say, with who it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEnrollment {
    pub learner: Uuid,
    pub course: String,
    pub course_level: String,
    pub enrolled_at: Timestamp,
    pub state: EnrollmentState,
    pub completed_at: Option<Timestamp>,
    /// Courses the learner has completed in all.
    pub learner_completed: usize,
}

/// One row of a release. The first three columns are the quasi-identifiers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnalyticsRow {
    pub course: String,
    /// The enrollment's quarter (`2026-Q1`), year (`2026`) or `*`.
    pub enrolled: String,
    /// The learner's completed courses, as a band: `0`, `1-2`, `3+`.
    pub learner_experience: String,
    pub course_level: String,
    /// `completed`, `in_progress` or `cancelled`.
    pub outcome: String,
    /// Weeks from enrollment to completion, as a band; `-` when not completed.
    pub weeks_to_complete: String,
}

/// The columns a release may have, and nothing else.
pub const COLUMNS: &[&str] = &[
    "course",
    "enrolled",
    "learner_experience",
    "course_level",
    "outcome",
    "weeks_to_complete",
];

/// How coarse the enrollment date had to become.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DateGrain {
    Quarter,
    Year,
    Suppressed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnalyticsRelease {
    pub k: usize,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub date_grain: DateGrain,
    pub rows: Vec<AnalyticsRow>,
    /// Rows dropped because their group was smaller than k.
    pub suppressed: u64,
}

/// Why a release was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalyticsRefusal {
    #[error("k must be at least {MIN_K}; {0} would let small groups through")]
    KTooSmall(usize),
    #[error(
        "the population is too small to release: {rows} enrollments could not form groups of {k} (nothing is released)"
    )]
    TooSmall { rows: usize, k: usize },
    #[error("the release failed its own check ({0}); nothing is released")]
    CheckFailed(String),
}

fn quarter(at: Timestamp, zone: &TimeZone) -> (i16, i8) {
    let d = at.to_zoned_datetime(zone.clone()).date();
    (d.year(), (d.month() - 1) / 3 + 1)
}

fn experience_band(completed: usize) -> &'static str {
    match completed {
        0 => "0",
        1..=2 => "1-2",
        _ => "3+",
    }
}

fn weeks_band(raw: &RawEnrollment) -> String {
    match raw.completed_at {
        Some(done) => {
            let weeks = done.duration_since(raw.enrolled_at).as_hours() / (24 * 7);
            match weeks {
                ..=4 => "0-4",
                5..=8 => "5-8",
                9..=16 => "9-16",
                _ => "17+",
            }
            .to_string()
        }
        None => "-".to_string(),
    }
}

fn row(raw: &RawEnrollment, grain: DateGrain, zone: &TimeZone) -> AnalyticsRow {
    let (year, q) = quarter(raw.enrolled_at, zone);
    AnalyticsRow {
        course: raw.course.clone(),
        enrolled: match grain {
            DateGrain::Quarter => format!("{year}-Q{q}"),
            DateGrain::Year => year.to_string(),
            DateGrain::Suppressed => "*".to_string(),
        },
        learner_experience: experience_band(raw.learner_completed).to_string(),
        course_level: raw.course_level.clone(),
        outcome: match raw.state {
            EnrollmentState::Completed => "completed",
            EnrollmentState::Enrolled => "in_progress",
            EnrollmentState::Cancelled => "cancelled",
        }
        .to_string(),
        weeks_to_complete: weeks_band(raw),
    }
}

type QuasiIdentifier = (String, String, String);

fn quasi(row: &AnalyticsRow) -> QuasiIdentifier {
    (
        row.course.clone(),
        row.enrolled.clone(),
        row.learner_experience.clone(),
    )
}

/// Anonymize: generalize the date until at most a fifth of the rows need suppressing (or to
/// nothing), suppress the groups still under k, and check the result.
pub fn anonymize(
    raw: &[RawEnrollment],
    k: usize,
    zone: &TimeZone,
) -> std::result::Result<AnalyticsRelease, AnalyticsRefusal> {
    if k < MIN_K {
        return Err(AnalyticsRefusal::KTooSmall(k));
    }
    let mut chosen = None;
    for grain in [DateGrain::Quarter, DateGrain::Year, DateGrain::Suppressed] {
        let rows: Vec<AnalyticsRow> = raw.iter().map(|r| row(r, grain, zone)).collect();
        let mut groups: BTreeMap<QuasiIdentifier, usize> = BTreeMap::new();
        for r in &rows {
            *groups.entry(quasi(r)).or_default() += 1;
        }
        let (kept, dropped): (Vec<AnalyticsRow>, Vec<AnalyticsRow>) =
            rows.into_iter().partition(|r| groups[&quasi(r)] >= k);
        let acceptable = dropped.len() * 5 <= raw.len();
        chosen = Some((grain, kept, dropped.len() as u64));
        if acceptable {
            break;
        }
    }
    let (date_grain, mut rows, suppressed) = chosen.expect("three grains were tried");
    if rows.len() < k {
        return Err(AnalyticsRefusal::TooSmall { rows: raw.len(), k });
    }
    rows.sort();
    let release = AnalyticsRelease {
        k,
        date_grain,
        rows,
        suppressed,
    };
    verify(&release, raw).map_err(AnalyticsRefusal::CheckFailed)?;
    Ok(release)
}

/// The release's own check, on its output: every group of quasi-identifiers holds at least k
/// rows; no column beyond the allowed ones; no value that names a person — no learner's id, no
/// address, no long number.
pub fn verify(
    release: &AnalyticsRelease,
    raw: &[RawEnrollment],
) -> std::result::Result<(), String> {
    let mut groups: BTreeMap<QuasiIdentifier, usize> = BTreeMap::new();
    for r in &release.rows {
        *groups.entry(quasi(r)).or_default() += 1;
    }
    if let Some((group, n)) = groups.iter().find(|(_, n)| **n < release.k) {
        return Err(format!("a group of {n} < k = {} ({group:?})", release.k));
    }
    let json = serde_json::to_value(&release.rows).map_err(|e| e.to_string())?;
    for row in json.as_array().into_iter().flatten() {
        let object = row.as_object().ok_or("a row is not an object")?;
        if let Some(extra) = object.keys().find(|c| !COLUMNS.contains(&c.as_str())) {
            return Err(format!("an unexpected column `{extra}`"));
        }
        for value in object.values() {
            let text = value.as_str().unwrap_or_default();
            if crate::values::looks_personal(text)
                || raw.iter().any(|r| text.contains(&r.learner.to_string()))
            {
                return Err("a value that identifies a person".into());
            }
        }
    }
    Ok(())
}

/// Completion by course and level, from a release (so it is as anonymous as the release).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompletionRate {
    pub course: String,
    pub course_level: String,
    pub enrollments: u64,
    pub completed: u64,
    /// Completed ÷ enrollments, 0–1.
    pub rate: f64,
}

pub fn completion_rates(release: &AnalyticsRelease) -> Vec<CompletionRate> {
    let mut by: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for r in &release.rows {
        let e = by
            .entry((r.course.clone(), r.course_level.clone()))
            .or_default();
        e.0 += 1;
        e.1 += u64::from(r.outcome == "completed");
    }
    by.into_iter()
        .map(|((course, course_level), (n, done))| CompletionRate {
            course,
            course_level,
            enrollments: n,
            completed: done,
            rate: done as f64 / n as f64,
        })
        .collect()
}

impl Vintrova {
    /// Every enrollment of the people whose analytics consent holds, with its course found by
    /// the catalog's keyed digests — nothing decrypted.
    async fn analytics_population(&self) -> Result<Vec<RawEnrollment>> {
        let catalog: Vec<Offering> = self.catalog().await?;
        let by_digest: BTreeMap<Vec<u8>, &Offering> = catalog
            .iter()
            .map(|o| (self.course_digest(&o.id), o))
            .collect();
        let mut out = vec![];
        let mut after = None;
        loop {
            let page = self.store().subject_ids(after, 500).await?;
            let Some(last) = page.last().copied() else {
                break;
            };
            after = Some(last);
            for subject in page {
                match self.authorize(subject, Use::Purpose(PURPOSE.into())).await {
                    Ok(_) => {}
                    Err(CoreError::Refused(_)) | Err(CoreError::UnknownSubject(_)) => continue,
                    Err(e) => return Err(e),
                }
                let enrollments: Vec<Enrollment> = self.records(subject).await?;
                let completed = enrollments
                    .iter()
                    .filter(|e| e.state == EnrollmentState::Completed)
                    .count();
                for e in enrollments {
                    let Some(offering) = by_digest.get(&e.course_digest) else {
                        continue;
                    };
                    out.push(RawEnrollment {
                        learner: subject,
                        course: offering.id.clone(),
                        course_level: serde_json::to_value(offering.level)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        enrolled_at: e.created_at,
                        state: e.state,
                        completed_at: e.completed_at,
                        learner_completed: completed,
                    });
                }
            }
        }
        Ok(out)
    }

    /// The anonymized release, for the console's report or an export.
    pub async fn analytics(&self, k: usize) -> Result<AnalyticsRelease> {
        let population = self.analytics_population().await?;
        anonymize(&population, k, &self.policy().zone()).map_err(|refusal| {
            InvalidInput::one(
                "k",
                refusal.to_string(),
                format!("k ≥ {MIN_K} and enough consenting learners"),
            )
            .into()
        })
    }

    /// Export the anonymized release to an analytics recipient: checked like any disclosure
    /// (the recipient, its country, its agreement), logged as an anonymized one.
    pub async fn export_analytics(
        &self,
        actor: &Actor,
        recipient: &str,
        country: &str,
        k: usize,
    ) -> Result<(AnalyticsRelease, Disclosure)> {
        let release = self.analytics(k).await?;
        let disclosure = self
            .disclose(
                actor,
                DisclosureRequest {
                    recipient: recipient.to_string(),
                    country: country.to_string(),
                    subjects: vec![],
                    categories: vec![names::EDUCATION.into()],
                    purpose: PURPOSE.into(),
                    legal_ground: format!(
                        "Anonymized learning analytics (k = {k}), consent of each learner included"
                    ),
                    legal_reference: None,
                    anonymized: true,
                },
            )
            .await?;
        Ok((release, disclosure))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn almaty() -> TimeZone {
        vintrova_policy::zone("Asia/Almaty").unwrap()
    }

    fn population() -> impl Strategy<Value = Vec<RawEnrollment>> {
        let one = (
            0u128..40,
            0usize..4,
            0i64..(3 * 365),
            0u8..3,
            0i64..200,
            0usize..6,
        )
            .prop_map(|(learner, course, day, state, weeks, completed)| {
                let enrolled_at = Timestamp::from_second(1_704_067_200 + day * 86_400).unwrap();
                let state = [
                    EnrollmentState::Enrolled,
                    EnrollmentState::Completed,
                    EnrollmentState::Cancelled,
                ][state as usize];
                RawEnrollment {
                    learner: Uuid::from_u128(learner + 1),
                    course: ["nn-101", "transformers", "cv", "rl"][course].to_string(),
                    course_level: ["beginner", "intermediate", "advanced", "beginner"][course]
                        .to_string(),
                    enrolled_at,
                    completed_at: (state == EnrollmentState::Completed).then(|| {
                        Timestamp::from_second(enrolled_at.as_second() + weeks * 86_400).unwrap()
                    }),
                    state,
                    learner_completed: completed,
                }
            });
        proptest::collection::vec(one, 0..300)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn every_release_is_k_anonymous_and_holds_no_identifier(raw in population(), k in 5usize..9) {
            match anonymize(&raw, k, &almaty()) {
                Ok(release) => {
                    let mut groups: BTreeMap<QuasiIdentifier, usize> = BTreeMap::new();
                    for r in &release.rows {
                        *groups.entry(quasi(r)).or_default() += 1;
                    }
                    prop_assert!(groups.values().all(|n| *n >= k));
                    prop_assert_eq!(release.rows.len() as u64 + release.suppressed, raw.len() as u64);
                    let text = serde_json::to_string(&release).unwrap();
                    for r in &raw {
                        prop_assert!(!text.contains(&r.learner.to_string()));
                    }
                }
                Err(AnalyticsRefusal::TooSmall { .. }) => {
                    // Refused only when no grain could keep k rows together.
                    let coarsest: Vec<AnalyticsRow> =
                        raw.iter().map(|r| row(r, DateGrain::Suppressed, &almaty())).collect();
                    let mut groups: BTreeMap<QuasiIdentifier, usize> = BTreeMap::new();
                    for r in &coarsest {
                        *groups.entry(quasi(r)).or_default() += 1;
                    }
                    prop_assert!(groups.values().filter(|n| **n >= k).sum::<usize>() < k);
                }
                Err(other) => prop_assert!(false, "unexpected refusal: {other}"),
            }
        }
    }

    #[test]
    fn a_population_too_small_is_refused_and_k_below_five_too() {
        let raw: Vec<RawEnrollment> = (0..4)
            .map(|i| RawEnrollment {
                learner: Uuid::from_u128(i),
                course: "nn-101".into(),
                course_level: "beginner".into(),
                enrolled_at: Timestamp::from_second(1_735_689_600).unwrap(),
                state: EnrollmentState::Completed,
                completed_at: Some(Timestamp::from_second(1_736_294_400).unwrap()),
                learner_completed: 1,
            })
            .collect();
        assert!(matches!(
            anonymize(&raw, 5, &almaty()),
            Err(AnalyticsRefusal::TooSmall { rows: 4, k: 5 })
        ));
        assert_eq!(
            anonymize(&raw, 3, &almaty()),
            Err(AnalyticsRefusal::KTooSmall(3))
        );
    }

    #[test]
    fn the_check_catches_a_small_group_and_an_identifier() {
        let raw: Vec<RawEnrollment> = vec![];
        let mut release = AnalyticsRelease {
            k: 5,
            date_grain: DateGrain::Year,
            rows: vec![],
            suppressed: 0,
        };
        let good = AnalyticsRow {
            course: "nn-101".into(),
            enrolled: "2026".into(),
            learner_experience: "0".into(),
            course_level: "beginner".into(),
            outcome: "completed".into(),
            weeks_to_complete: "0-4".into(),
        };
        release.rows = vec![good.clone(); 4];
        assert!(verify(&release, &raw).unwrap_err().contains("group of 4"));
        release.rows = vec![good.clone(); 5];
        assert_eq!(verify(&release, &raw), Ok(()));
        release.rows[0].course = "aigerim@mail.kz".into();
        release
            .rows
            .iter_mut()
            .for_each(|r| r.course = "aigerim@mail.kz".into());
        assert!(verify(&release, &raw).unwrap_err().contains("identifies"));
    }
}
