//! The duties staff may name instead of a policy purpose (R7.7): answering a rights request,
//! responding to an incident, working on a legal claim, keeping what a law requires. Each names
//! the record it serves — the request, the incident, the hold, the retention rule — and opens
//! only what that record needs: a verified request's full copy, the categories an incident
//! affected, the categories a hold keeps, the categories a law-required rule keeps (after a
//! partial erasure, the only way its kept records open). A duty named without its record opens
//! nothing.

use uuid::Uuid;

use crate::gate::{Duty, Refusal, Use};
use crate::values::{InvalidInput, Refused};
use crate::{Actor, Export, PurposeView, Result, Vintrova};

/// The duty names staff may state, in the order the console offers them.
pub const STAFF_DUTIES: &[&str] = &[
    "rights_request",
    "incident_response",
    "legal_claim",
    "kept_by_law",
];

/// A duty with the record it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffDuty {
    RightsRequest(Uuid),
    IncidentResponse(Uuid),
    LegalClaim(Uuid),
    /// A retention rule the law requires (`financial`), by its key.
    KeptByLaw(String),
}

impl StaffDuty {
    /// The duty `name` serving `reference` (a request, incident or hold id).
    pub fn parse(name: &str, reference: Option<&str>) -> Result<StaffDuty, InvalidInput> {
        let record = match name {
            "rights_request" => "the id of the person's verified request",
            "incident_response" => "the id of the incident that affected the person",
            "legal_claim" => "the id of the legal hold on the person's data",
            "kept_by_law" => "the key of the retention rule a law requires, such as `financial`",
            _ => {
                return Err(InvalidInput::one(
                    "purpose",
                    "is not a staff duty",
                    format!("one of {}", STAFF_DUTIES.join(", ")),
                ));
            }
        };
        let Some(id) = reference.map(str::trim).filter(|r| !r.is_empty()) else {
            return Err(InvalidInput::coded(
                "reference",
                Refused::new(
                    "duty_needs_reference",
                    format!(
                        "the duty `{name}` opens data only for the record it serves, and none was named"
                    ),
                    record,
                ),
            ));
        };
        if name == "kept_by_law" {
            return Ok(StaffDuty::KeptByLaw(id.to_string()));
        }
        let id = Uuid::parse_str(id).map_err(|_| {
            InvalidInput::coded(
                "reference",
                Refused::new("not_an_id", "is not an id", record),
            )
        })?;
        Ok(match name {
            "rights_request" => StaffDuty::RightsRequest(id),
            "incident_response" => StaffDuty::IncidentResponse(id),
            _ => StaffDuty::LegalClaim(id),
        })
    }
}

/// What a duty opened: a verified request's full copy, or a view of the categories an incident
/// or a hold concerns.
#[derive(Debug, Clone)]
pub enum DutyView {
    Copy(Box<Export>),
    View(PurposeView),
}

impl Vintrova {
    /// Open `subject`'s data for a staff duty, if the record it names concerns them now.
    pub async fn read_for_duty(
        &self,
        actor: &Actor,
        subject: Uuid,
        duty: StaffDuty,
    ) -> Result<DutyView> {
        let use_ = match duty {
            StaffDuty::RightsRequest(request) => {
                return Ok(DutyView::Copy(Box::new(
                    self.copy_for_request(actor, subject, Some(request))
                        .await?
                        .per_value(),
                )));
            }
            StaffDuty::IncidentResponse(id) => {
                let incident = self.incident(id).await?;
                let why = if !incident.is_open() {
                    Some("the incident is closed")
                } else if !incident.subjects.contains(&subject) {
                    Some("the person is not among those it affected")
                } else {
                    None
                };
                if let Some(why) = why {
                    return Err(Refusal::DutyNotOpen {
                        reference: format!("incident {id}"),
                        why,
                    }
                    .into());
                }
                Duty::IncidentResponse {
                    incident: id,
                    categories: incident.categories,
                }
            }
            StaffDuty::LegalClaim(id) => {
                let now = self.now();
                let hold = self
                    .holds()
                    .await?
                    .into_iter()
                    .find(|h| h.id == id)
                    .ok_or_else(|| {
                        InvalidInput::coded(
                            "reference",
                            Refused::new(
                                "unknown_record",
                                "not a hold of ours",
                                "the id of a legal hold",
                            ),
                        )
                    })?;
                let why = if !hold.in_force(now) {
                    Some("the hold was released or has lapsed")
                } else if hold.subject.is_some_and(|s| s != subject) {
                    Some("the hold keeps another person's data")
                } else {
                    None
                };
                if let Some(why) = why {
                    return Err(Refusal::DutyNotOpen {
                        reference: format!("hold {id}"),
                        why,
                    }
                    .into());
                }
                let categories = if hold.categories.is_empty() {
                    self.policy()
                        .categories
                        .iter()
                        .map(|c| c.key.clone())
                        .collect()
                } else {
                    hold.categories
                };
                Duty::LegalClaim {
                    hold: id,
                    categories,
                }
            }
            StaffDuty::KeptByLaw(rule) => {
                let policy = self.policy();
                if !policy
                    .retention_rules
                    .iter()
                    .any(|r| r.key == rule && r.required_by_law)
                {
                    let required: Vec<&str> = policy
                        .retention_rules
                        .iter()
                        .filter(|r| r.required_by_law)
                        .map(|r| r.key.as_str())
                        .collect();
                    return Err(InvalidInput::one(
                        "reference",
                        format!("`{rule}` is not a retention rule a law requires"),
                        format!("one of {}", required.join(", ")),
                    )
                    .into());
                }
                let categories = policy
                    .categories
                    .iter()
                    .filter(|c| c.retention == rule)
                    .map(|c| c.key.clone())
                    .collect();
                Duty::KeptByLaw { rule, categories }
            }
        };
        Ok(DutyView::View(
            self.read_for(actor, subject, Use::Duty(use_)).await?,
        ))
    }
}
