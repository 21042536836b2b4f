//! The incident register (R7.9): what happened, when it was detected, whose data and which
//! categories it touched, what was done, and the legal clock — the authorized body must be told
//! within one working day of detection (Kazakhstan's calendar, [`crate::workdays`]). Affected
//! people are told through the outbox. An incident is a ledger: every step is appended, so its
//! timeline is its history.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::Action;
use crate::gate::{Duty, Use};
use crate::ledger::LedgerEntry;
use crate::letters::Letter;
use crate::values::{InvalidInput, looks_personal};
use crate::{Actor, CoreError, Result, Vintrova};

const BOOK: &str = "incidents";
const TEXT_MAX: usize = 4000;

/// Hours before an incident's deadline at which the data protection service is reminded; the
/// deadline is one working day, so the first comes with most of the day still left.
pub const INCIDENT_REMINDERS: [i64; 2] = [8, 2];

/// What a staff member knows when they open an incident.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentReport {
    /// When the incident was detected (not when it is entered).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub detected_at: Timestamp,
    /// What happened, without anyone's personal data.
    pub description: String,
    /// Categories of the policy the incident touched.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Affected people, by subject id.
    #[serde(default)]
    pub subjects: Vec<Uuid>,
    /// Measures taken so far.
    #[serde(default)]
    pub measures: String,
}

/// A later step of an incident.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum IncidentStep {
    /// A note on the timeline: findings, measures, more people or categories affected.
    Update {
        note: String,
        #[serde(default)]
        measures: String,
        #[serde(default)]
        categories: Vec<String>,
        #[serde(default)]
        subjects: Vec<Uuid>,
    },
    /// The authorized body was notified; `reference` is its registration number.
    AuthorityNotified {
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        at: Timestamp,
        reference: String,
    },
    Close {
        note: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Event {
    Reported {
        detected_at: Timestamp,
        description: String,
        categories: Vec<String>,
        subjects: Vec<Uuid>,
        measures: String,
    },
    Step(IncidentStep),
    SubjectNotified {
        subject: Uuid,
    },
}

/// One line of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub actor: String,
    pub what: String,
    pub note: String,
}

/// Where a legal clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    /// Still running: done before its deadline is on time.
    Running,
    /// Past the deadline and not done.
    Overdue,
    Met,
    MetLate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Clock {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub due_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub done_at: Option<Timestamp>,
    pub state: ClockState,
    /// Minutes until the deadline (negative once past), while not done.
    pub minutes_left: Option<i64>,
}

impl Clock {
    fn at(due_at: Timestamp, done_at: Option<Timestamp>, now: Timestamp) -> Clock {
        let (state, minutes_left) = match done_at {
            Some(done) if done < due_at => (ClockState::Met, None),
            Some(_) => (ClockState::MetLate, None),
            None => {
                let left = due_at.duration_since(now).as_mins();
                let state = if now < due_at {
                    ClockState::Running
                } else {
                    ClockState::Overdue
                };
                (state, Some(left))
            }
        };
        Clock {
            due_at,
            done_at,
            state,
            minutes_left,
        }
    }
}

/// An incident as its ledger makes it, with its clocks at the time it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Incident {
    pub id: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub detected_at: Timestamp,
    pub description: String,
    pub categories: Vec<String>,
    pub subjects: Vec<Uuid>,
    pub measures: Vec<String>,
    /// Notifying the authorized body: within one working day of detection.
    pub authority: Clock,
    pub authority_reference: Option<String>,
    /// Telling the people affected, by the same deadline; done once every one of them is told.
    /// `None` while nobody is known to be affected.
    pub people: Option<Clock>,
    /// People told so far, of `subjects`.
    pub subjects_notified: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub closed_at: Option<Timestamp>,
    pub timeline: Vec<TimelineEntry>,
}

impl Incident {
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}

/// What telling the affected people did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentNotices {
    pub queued: u64,
    pub already_told: u64,
    /// Erased since, or no address on record.
    pub unreachable: u64,
}

impl Vintrova {
    fn check_incident_text(
        &self,
        problems: &mut InvalidInput,
        field: &str,
        text: &str,
        required: bool,
    ) {
        let len = text.trim().chars().count();
        if (required && len == 0) || len > TEXT_MAX {
            problems.push(
                field,
                format!("{len} characters"),
                format!("1 to {TEXT_MAX} characters"),
            );
        } else if looks_personal(text) {
            problems.push(
                field,
                "looks like it carries an email address or a personal number",
                "a description without anyone's personal data: the register outlives every erasure; name people by subject id in `subjects`",
            );
        }
    }

    fn check_categories(&self, problems: &mut InvalidInput, categories: &[String]) {
        for (i, c) in categories.iter().enumerate() {
            if self.policy().category(c).is_none() {
                problems.push(
                    format!("categories[{i}]"),
                    format!("`{c}` is not a category of the policy"),
                    "a category key of policy/vintrova.toml",
                );
            }
        }
    }

    async fn check_subjects(&self, problems: &mut InvalidInput, subjects: &[Uuid]) -> Result<()> {
        for (i, s) in subjects.iter().enumerate() {
            if self.store().subject(*s).await?.is_none() {
                problems.push(
                    format!("subjects[{i}]"),
                    "no such subject",
                    "the id of a person held by Vintrova",
                );
            }
        }
        Ok(())
    }

    /// Open an incident. Its clock starts at detection, not at entry.
    pub async fn report_incident(&self, actor: &Actor, report: IncidentReport) -> Result<Incident> {
        let mut problems = InvalidInput::default();
        if report.detected_at > self.now() {
            problems.push(
                "detected_at",
                "is in the future",
                "the moment the incident was detected",
            );
        }
        self.check_incident_text(&mut problems, "description", &report.description, true);
        self.check_incident_text(&mut problems, "measures", &report.measures, false);
        self.check_categories(&mut problems, &report.categories);
        self.check_subjects(&mut problems, &report.subjects).await?;
        problems.into_result()?;
        let id = Uuid::now_v7();
        let event = Event::Reported {
            detected_at: report.detected_at,
            description: report.description.trim().to_string(),
            categories: report.categories.clone(),
            subjects: dedup(report.subjects),
            measures: report.measures.trim().to_string(),
        };
        self.append_incident(actor, id, &event, Action::ReportIncident, report.categories)
            .await?;
        self.incident(id).await
    }

    /// Add a step to an incident's timeline.
    pub async fn update_incident(
        &self,
        actor: &Actor,
        id: Uuid,
        step: IncidentStep,
    ) -> Result<Incident> {
        let incident = self.incident(id).await?;
        let mut problems = InvalidInput::default();
        if !incident.is_open() {
            problems.push(
                "incident",
                "is closed",
                "an open incident; a closed one's record stays as it is",
            );
        }
        let mut categories = vec![];
        match &step {
            IncidentStep::Update {
                note,
                measures,
                categories: added,
                subjects,
            } => {
                self.check_incident_text(&mut problems, "note", note, true);
                self.check_incident_text(&mut problems, "measures", measures, false);
                self.check_categories(&mut problems, added);
                self.check_subjects(&mut problems, subjects).await?;
                categories = added.clone();
            }
            IncidentStep::AuthorityNotified { at, reference } => {
                if *at > self.now() || *at < incident.detected_at {
                    problems.push(
                        "at",
                        "before detection or in the future",
                        "when the authorized body was notified",
                    );
                }
                if incident.authority.done_at.is_some() {
                    problems.push(
                        "step",
                        "the authorized body was already notified",
                        "an `update` step for a follow-up message",
                    );
                }
                self.check_incident_text(&mut problems, "reference", reference, true);
            }
            IncidentStep::Close { note } => {
                self.check_incident_text(&mut problems, "note", note, true);
            }
        }
        problems.into_result()?;
        self.append_incident(
            actor,
            id,
            &Event::Step(step),
            Action::UpdateIncident,
            categories,
        )
        .await?;
        self.incident(id).await
    }

    async fn append_incident(
        &self,
        actor: &Actor,
        id: Uuid,
        event: &Event,
        action: Action,
        categories: Vec<String>,
    ) -> Result<LedgerEntry> {
        self.append_ledger(actor, (BOOK, id), event, action, categories)
            .await
    }

    pub async fn incident(&self, id: Uuid) -> Result<Incident> {
        let entries = self.ledger(BOOK, Some(id)).await?;
        self.fold_incident(id, &entries)?.ok_or_else(|| {
            InvalidInput::one(
                "incident",
                format!("no incident has the id {id}"),
                "the id of an incident from the register",
            )
            .into()
        })
    }

    /// The register: every incident, newest first, with its clocks now.
    pub async fn incidents(&self) -> Result<Vec<Incident>> {
        let entries = self.ledger(BOOK, None).await?;
        let mut ids: Vec<Uuid> = entries.iter().map(|e| e.entity).collect();
        ids.sort();
        ids.dedup();
        let mut all = vec![];
        for id in ids.into_iter().rev() {
            let mine: Vec<LedgerEntry> =
                entries.iter().filter(|e| e.entity == id).cloned().collect();
            all.extend(self.fold_incident(id, &mine)?);
        }
        Ok(all)
    }

    fn fold_incident(&self, id: Uuid, entries: &[LedgerEntry]) -> Result<Option<Incident>> {
        let now = self.now();
        let mut incident: Option<Incident> = None;
        let mut told: BTreeMap<Uuid, Timestamp> = BTreeMap::new();
        let mut authority_done = None;
        for entry in entries {
            let event: Event = entry.body()?;
            let line = |what: &str, note: &str| TimelineEntry {
                at: entry.at,
                actor: entry.actor.clone(),
                what: what.to_string(),
                note: note.to_string(),
            };
            match (event, incident.as_mut()) {
                (
                    Event::Reported {
                        detected_at,
                        description,
                        categories,
                        subjects,
                        measures,
                    },
                    None,
                ) => {
                    let due = self
                        .calendar()
                        .one_working_day_after(detected_at, &self.policy().zone());
                    incident = Some(Incident {
                        id,
                        detected_at,
                        timeline: vec![line("reported", &description)],
                        description,
                        categories,
                        subjects,
                        measures: Some(measures)
                            .filter(|m| !m.is_empty())
                            .into_iter()
                            .collect(),
                        authority: Clock::at(due, None, now),
                        authority_reference: None,
                        people: None,
                        subjects_notified: 0,
                        closed_at: None,
                    });
                }
                (Event::Step(step), Some(i)) => match step {
                    IncidentStep::Update {
                        note,
                        measures,
                        categories,
                        subjects,
                    } => {
                        i.timeline.push(line("update", &note));
                        if !measures.is_empty() {
                            i.measures.push(measures);
                        }
                        i.categories.extend(categories);
                        i.categories.sort();
                        i.categories.dedup();
                        i.subjects = dedup(i.subjects.iter().copied().chain(subjects).collect());
                    }
                    IncidentStep::AuthorityNotified { at, reference } => {
                        i.timeline.push(line("authority_notified", &reference));
                        authority_done = Some(at);
                        i.authority_reference = Some(reference);
                    }
                    IncidentStep::Close { note } => {
                        i.timeline.push(line("closed", &note));
                        i.closed_at = Some(entry.at);
                    }
                },
                (Event::SubjectNotified { subject }, Some(_)) => {
                    told.entry(subject).or_insert(entry.at);
                }
                _ => {
                    return Err(CoreError::Internal(format!(
                        "incident {id}'s ledger is out of order; restore the database from a backup"
                    )));
                }
            }
        }
        Ok(incident.map(|mut i| {
            i.authority = Clock::at(i.authority.due_at, authority_done, now);
            // Done when the last affected person was told; someone added later reopens it.
            let people_done = i
                .subjects
                .iter()
                .map(|s| told.get(s).copied())
                .collect::<Option<Vec<_>>>()
                .and_then(|at| at.into_iter().max());
            i.people =
                (!i.subjects.is_empty()).then(|| Clock::at(i.authority.due_at, people_done, now));
            i.subjects_notified = told.len() as u64;
            if !told.is_empty() {
                i.timeline.push(TimelineEntry {
                    at: entries.last().map(|e| e.at).unwrap_or(now),
                    actor: "outbox".into(),
                    what: "subjects_notified".into(),
                    note: format!("{} of {}", told.len(), i.subjects.len()),
                });
            }
            i
        }))
    }

    /// Remind the data protection service of every open incident's clocks — telling the
    /// authorized body and telling the people affected — at each point before the deadline
    /// (`INCIDENT_REMINDERS`, hours left) and once it has passed: one message per clock and
    /// point (its Message-ID says which), naming the incident, never a person. A round that
    /// starts late sends only the nearest point. Returns the messages queued.
    pub async fn remind_incidents(&self) -> Result<u64> {
        let zone = self.policy().zone();
        let mut sent = 0;
        for incident in self.incidents().await? {
            if !incident.is_open() {
                continue;
            }
            let clocks = [
                ("authority", Some(&incident.authority)),
                ("people", incident.people.as_ref()),
            ];
            for (clock_name, clock) in clocks {
                let Some(left) = clock.and_then(|c| c.minutes_left) else {
                    continue;
                };
                let nearest = INCIDENT_REMINDERS.iter().filter(|h| left <= *h * 60).min();
                let point = match nearest {
                    _ if left <= 0 => "overdue".to_string(),
                    Some(hours) => format!("{hours}h"),
                    None => continue,
                };
                let due = incident.authority.due_at.to_zoned_datetime(zone.clone());
                let whom = match clock_name {
                    "authority" => "уведомить уполномоченный орган",
                    _ => "уведомить затронутых людей (вкладка инцидента в консоли)",
                };
                let title = match point.as_str() {
                    "overdue" => format!("ПРОСРОЧЕНО: инцидент {} — {whom}", incident.id),
                    _ => format!(
                        "Инцидент {}: {whom} до {}",
                        incident.id,
                        due.strftime("%Y-%m-%d %H:%M")
                    ),
                };
                let body = format!(
                    "Инцидент {} обнаружен {}. Срок — {} (время Алматы), осталось минут: {}. Нужно {whom}.",
                    incident.id,
                    incident
                        .detected_at
                        .to_zoned_datetime(zone.clone())
                        .strftime("%Y-%m-%d %H:%M"),
                    due.strftime("%Y-%m-%d %H:%M"),
                    left.max(0),
                );
                let message_id = format!(
                    "<incident-{}-{clock_name}-{point}@vintrova.outbox>",
                    incident.id
                );
                if self
                    .tell_the_service(message_id, "incident:reminder", &title, &body)
                    .await?
                {
                    sent += 1;
                }
            }
        }
        Ok(sent)
    }

    /// Tell every affected person not told yet, through the outbox, under the law's duty (no
    /// consent needed, only their address is read). Safe to run again: who was told is on
    /// the ledger.
    pub async fn notify_incident_subjects(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<IncidentNotices> {
        let incident = self.incident(id).await?;
        let told: BTreeSet<Uuid> = self
            .ledger(BOOK, Some(id))
            .await?
            .iter()
            .filter_map(|e| match e.body::<Event>() {
                Ok(Event::SubjectNotified { subject }) => Some(subject),
                _ => None,
            })
            .collect();
        let mut report = IncidentNotices::default();
        let duty = Use::Duty(Duty::BreachNotice);
        for subject in &incident.subjects {
            if told.contains(subject) {
                report.already_told += 1;
                continue;
            }
            let grant = match self.authorize(*subject, duty.clone()).await {
                Ok(grant) => grant,
                Err(CoreError::UnknownSubject(_)) => {
                    report.unreachable += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let Some(to) = self.address(&grant).await? else {
                report.unreachable += 1;
                continue;
            };
            self.queue_notice(
                actor,
                (Action::NotifyIncident, &duty.label()),
                *subject,
                &to,
                Letter::Incident {
                    contact: &self.policy().contact.email,
                    description: &incident.description,
                    measures: &incident.measures,
                },
            )
            .await?;
            self.append_incident(
                actor,
                id,
                &Event::SubjectNotified { subject: *subject },
                Action::NotifyIncident,
                vec![],
            )
            .await?;
            report.queued += 1;
        }
        Ok(report)
    }
}

fn dedup(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids.dedup();
    ids
}
