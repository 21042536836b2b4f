//! Security audits and risk assessments (R7.8): when, of what, by whom, what was found and
//! what is to be done about it by when. Recorded in a ledger; a follow-up is marked done by a
//! later entry, so the record of what was promised stays as it was written.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::Action;
use crate::text::{Rule, check};
use crate::values::{InvalidInput, looks_personal};
use crate::words::words;
use crate::{Actor, CoreError, Result, Vintrova};

const BOOK: &str = "assessments";
const TEXT_MAX: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AssessmentKind {
    SecurityAudit,
    RiskAssessment,
}

words!(AssessmentKind {
    SecurityAudit => "security_audit",
    RiskAssessment => "risk_assessment",
});

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FollowUp {
    pub action: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub due_on: Date,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub done_on: Option<Date>,
}

/// An audit or assessment as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssessmentRecord {
    pub kind: AssessmentKind,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub conducted_on: Date,
    /// What was examined.
    pub scope: String,
    /// Who conducted it: a firm, or "internal".
    pub conducted_by: String,
    pub findings: Vec<String>,
    #[serde(default)]
    pub follow_ups: Vec<FollowUp>,
}

/// When an audit or assessment of a kind is next due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Schedule {
    pub kind: AssessmentKind,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub last_on: Option<Date>,
    /// A year after the last one; `null` when none was ever recorded.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub due_on: Option<Date>,
    /// Past its date, or never done.
    pub overdue: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Event {
    Recorded(AssessmentRecord),
    FollowUpDone { index: usize, on: Date },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assessment {
    pub id: Uuid,
    #[serde(flatten)]
    pub record: AssessmentRecord,
    pub recorded_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub recorded_at: Timestamp,
    /// Follow-ups past their date and not done.
    pub overdue_follow_ups: u64,
}

impl Vintrova {
    pub async fn record_assessment(
        &self,
        actor: &Actor,
        record: AssessmentRecord,
    ) -> Result<Assessment> {
        let mut problems = InvalidInput::default();
        let today = self.now().to_zoned_datetime(self.policy().zone()).date();
        if record.conducted_on > today {
            problems.push(
                "conducted_on",
                "is in the future",
                "the day it was conducted",
            );
        }
        // Findings are prose; the rest are one line each. The edge's one text rule decides
        // what a line and prose may hold, so a ledger keeps nothing a name field refuses.
        let (line, prose) = (Rule::line(TEXT_MAX), Rule::lines(TEXT_MAX));
        let texts = [
            ("scope", &record.scope, line),
            ("conducted_by", &record.conducted_by, line),
        ]
        .into_iter()
        .map(|(f, t, rule)| (f.to_string(), t.clone(), rule))
        .chain(
            record
                .findings
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("findings[{i}]"), t.clone(), prose)),
        )
        .chain(
            record
                .follow_ups
                .iter()
                .enumerate()
                .map(|(i, f)| (format!("follow_ups[{i}].action"), f.action.clone(), line)),
        );
        for (field, text, rule) in texts {
            let len = text.trim().chars().count();
            if len == 0 {
                problems.push(field, "empty", format!("1 to {TEXT_MAX} characters"));
            } else if let Err(refused) = check(rule, text.trim()) {
                problems.problems.push(refused.at(field));
            } else if looks_personal(&text) {
                problems.push(
                    field,
                    "looks like it carries an email address or a personal number",
                    "text without anyone's personal data",
                );
            }
        }
        problems.into_result()?;
        let id = Uuid::now_v7();
        self.append_assessment(actor, id, &Event::Recorded(record))
            .await?;
        self.assessment(id).await
    }

    /// Mark follow-up `index` (from 0) of an assessment done on `on`.
    pub async fn complete_follow_up(
        &self,
        actor: &Actor,
        id: Uuid,
        index: usize,
        on: Date,
    ) -> Result<Assessment> {
        let current = self.assessment(id).await?;
        if index >= current.record.follow_ups.len() {
            return Err(InvalidInput::one(
                "index",
                format!(
                    "the assessment has {} follow-ups",
                    current.record.follow_ups.len()
                ),
                "the number of a follow-up, counting from 0",
            )
            .into());
        }
        self.append_assessment(actor, id, &Event::FollowUpDone { index, on })
            .await?;
        self.assessment(id).await
    }

    async fn append_assessment(&self, actor: &Actor, id: Uuid, event: &Event) -> Result<()> {
        self.append_ledger(actor, (BOOK, id), event, Action::RecordAssessment, vec![])
            .await
            .map(|_| ())
    }

    pub async fn assessment(&self, id: Uuid) -> Result<Assessment> {
        self.assessments_where(Some(id))
            .await?
            .pop()
            .ok_or_else(|| {
                InvalidInput::one(
                    "assessment",
                    format!("no assessment has the id {id}"),
                    "the id of a recorded audit or assessment",
                )
                .into()
            })
    }

    /// When each kind is next due — a year after the last one (R7.8: audits and assessments are
    /// regular, at least yearly) — and whether it is overdue; a kind never done is overdue.
    pub async fn assessment_schedule(&self) -> Result<Vec<Schedule>> {
        let today = self.now().to_zoned_datetime(self.policy().zone()).date();
        let all = self.assessments().await?;
        AssessmentKind::ALL
            .iter()
            .map(|kind| {
                let last_on = all
                    .iter()
                    .filter(|a| a.record.kind == *kind)
                    .map(|a| a.record.conducted_on)
                    .max();
                let due_on = last_on
                    .map(|on| on.checked_add(jiff::Span::new().years(1)))
                    .transpose()
                    .map_err(|e| CoreError::Internal(e.to_string()))?;
                Ok(Schedule {
                    kind: *kind,
                    last_on,
                    due_on,
                    overdue: due_on.is_none_or(|due| due < today),
                })
            })
            .collect()
    }

    /// Every audit and assessment, newest first.
    pub async fn assessments(&self) -> Result<Vec<Assessment>> {
        let mut all = self.assessments_where(None).await?;
        all.sort_by_key(|a| std::cmp::Reverse(a.record.conducted_on));
        Ok(all)
    }

    async fn assessments_where(&self, id: Option<Uuid>) -> Result<Vec<Assessment>> {
        let today = self.now().to_zoned_datetime(self.policy().zone()).date();
        let mut by_id: BTreeMap<Uuid, Assessment> = BTreeMap::new();
        for entry in self.ledger(BOOK, id).await? {
            match entry.body::<Event>()? {
                Event::Recorded(record) => {
                    by_id.insert(
                        entry.entity,
                        Assessment {
                            id: entry.entity,
                            record,
                            recorded_by: entry.actor.clone(),
                            recorded_at: entry.at,
                            overdue_follow_ups: 0,
                        },
                    );
                }
                Event::FollowUpDone { index, on } => {
                    let follow_up = by_id
                        .get_mut(&entry.entity)
                        .and_then(|a| a.record.follow_ups.get_mut(index))
                        .ok_or_else(|| {
                            CoreError::Internal(format!(
                                "assessment {}'s ledger is out of order; restore the database from a backup",
                                entry.entity
                            ))
                        })?;
                    follow_up.done_on = Some(on);
                }
            }
        }
        Ok(by_id
            .into_values()
            .map(|mut a| {
                a.overdue_follow_ups = a
                    .record
                    .follow_ups
                    .iter()
                    .filter(|f| f.done_on.is_none() && f.due_on < today)
                    .count() as u64;
                a
            })
            .collect())
    }
}
