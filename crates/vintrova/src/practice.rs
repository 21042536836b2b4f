//! The practice's own registers from the command line: staff and their paperwork, incidents,
//! audits and risk assessments. Every command acts as the operator (`cli:operator`) and is
//! audited like any other.

use std::path::PathBuf;

use clap::Subcommand;
use jiff::civil::Date;
use uuid::Uuid;
use vintrova_core::Actor;
use vintrova_core::assessments::AssessmentRecord;
use vintrova_core::incidents::{IncidentReport, IncidentStep};
use vintrova_core::staff::{Enrollment, Paper, PaperKind, Role};

use crate::setup::{Result, Runtime};
use crate::{print_json, read_input};

#[derive(Subcommand)]
pub enum StaffCommand {
    /// Add a staff member; prints their one-time enrollment link.
    Add {
        /// A work handle (`a.nurlanova`), not an email.
        login: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Where the server is reached, to print the whole link.
        #[arg(
            long,
            env = "VINTROVA_PUBLIC_URL",
            default_value = "https://localhost:8443"
        )]
        public_url: String,
    },
    List,
    /// Record a signed confidentiality agreement or a completed privacy training.
    Paperwork {
        id: String,
        #[arg(long, value_parser = parse_paper)]
        kind: PaperKind,
        /// The day it was signed or completed, YYYY-MM-DD.
        #[arg(long)]
        on: Date,
        /// Where the paper is filed.
        #[arg(long)]
        reference: String,
    },
    /// A new enrollment link: resets the password and second factor.
    Reissue {
        id: String,
        #[arg(
            long,
            env = "VINTROVA_PUBLIC_URL",
            default_value = "https://localhost:8443"
        )]
        public_url: String,
    },
    Disable {
        id: String,
    },
    Enable {
        id: String,
    },
    /// Print the access matrix the code enforces (docs/ACCESS.md).
    Matrix,
}

#[derive(Subcommand)]
pub enum IncidentCommand {
    /// Open an incident from JSON `{"detected_at": …, "description": …, "categories": […],
    /// "subjects": […], "measures": …}` (a file, or `-` for stdin).
    Report {
        json: PathBuf,
    },
    /// Add a step from JSON: `{"step": "update", "note": …}`, `{"step": "authority_notified",
    /// "at": …, "reference": …}` or `{"step": "close", "note": …}`.
    Step {
        id: String,
        json: PathBuf,
    },
    /// Tell the affected people through the outbox (only those not told yet).
    Notify {
        id: String,
    },
    /// The register, newest first, with each clock.
    List,
    Show {
        id: String,
    },
}

#[derive(Subcommand)]
pub enum AssessmentCommand {
    /// Record an audit or risk assessment from JSON (a file, or `-` for stdin).
    Record {
        json: PathBuf,
    },
    /// Mark follow-up INDEX (from 0) done on a day.
    Done {
        id: String,
        index: usize,
        #[arg(long)]
        on: Date,
    },
    List,
}

fn parse_role(s: &str) -> std::result::Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("expected one of {}", all.join(", "))
    })
}

fn parse_paper(s: &str) -> std::result::Result<PaperKind, String> {
    PaperKind::parse(s).ok_or_else(|| "expected agreement or training".to_string())
}

fn id(raw: &str) -> Result<Uuid> {
    raw.parse()
        .map_err(|_| format!("`{raw}` is not an id; expected a UUID as the list prints").into())
}

fn json<T: serde::de::DeserializeOwned>(path: &PathBuf) -> Result<T> {
    serde_json::from_slice(&read_input(path)?).map_err(|e| {
        format!(
            "{} is not the expected JSON: {e} (at line {}, column {})",
            path.display(),
            e.line(),
            e.column()
        )
        .into()
    })
}

/// The enrollment link to hand to the new staff member, on a channel of its own.
pub fn print_enrollment(enrollment: &Enrollment, public_url: &str) -> Result<()> {
    say!(
        "One-time enrollment link for `{}` ({}), valid until {}:\n\n  {}/staff/enroll?token={}\n\nHand it over in person or on a channel of its own; it sets the password and second factor.",
        enrollment.login,
        enrollment.role.as_str(),
        enrollment.expires_at,
        public_url.trim_end_matches('/'),
        enrollment.token
    );
    print_json(&serde_json::json!({
        "staff": enrollment.staff,
        "login": enrollment.login,
        "role": enrollment.role,
        "expires_at": enrollment.expires_at,
    }))
}

pub async fn staff(rt: &Runtime, actor: &Actor, command: StaffCommand) -> Result<()> {
    let app = &rt.app;
    match command {
        StaffCommand::Add {
            login,
            role,
            public_url,
        } => print_enrollment(&app.add_staff(actor, &login, role).await?, &public_url)?,
        StaffCommand::List => print_json(&app.staff_members().await?)?,
        StaffCommand::Paperwork {
            id: staff,
            kind,
            on,
            reference,
        } => print_json(
            &app.record_paperwork(
                actor,
                id(&staff)?,
                Paper {
                    kind,
                    on,
                    reference,
                },
            )
            .await?,
        )?,
        StaffCommand::Reissue {
            id: staff,
            public_url,
        } => print_enrollment(
            &app.reissue_enrollment(actor, id(&staff)?).await?,
            &public_url,
        )?,
        StaffCommand::Disable { id: staff } => {
            print_json(&app.set_staff_active(actor, id(&staff)?, false).await?)?
        }
        StaffCommand::Enable { id: staff } => {
            print_json(&app.set_staff_active(actor, id(&staff)?, true).await?)?
        }
        StaffCommand::Matrix => print!("{}", vintrova_web::access::matrix_markdown()),
    }
    Ok(())
}

pub async fn incident(rt: &Runtime, actor: &Actor, command: IncidentCommand) -> Result<()> {
    let app = &rt.app;
    match command {
        IncidentCommand::Report { json: file } => {
            let report: IncidentReport = json(&file)?;
            print_json(&app.report_incident(actor, report).await?)?
        }
        IncidentCommand::Step {
            id: incident,
            json: file,
        } => {
            let step: IncidentStep = json(&file)?;
            print_json(&app.update_incident(actor, id(&incident)?, step).await?)?
        }
        IncidentCommand::Notify { id: incident } => {
            print_json(&app.notify_incident_subjects(actor, id(&incident)?).await?)?
        }
        IncidentCommand::List => print_json(&app.incidents().await?)?,
        IncidentCommand::Show { id: incident } => print_json(&app.incident(id(&incident)?).await?)?,
    }
    Ok(())
}

pub async fn assessment(rt: &Runtime, actor: &Actor, command: AssessmentCommand) -> Result<()> {
    let app = &rt.app;
    match command {
        AssessmentCommand::Record { json: file } => {
            let record: AssessmentRecord = json(&file)?;
            print_json(&app.record_assessment(actor, record).await?)?
        }
        AssessmentCommand::Done {
            id: assessment,
            index,
            on,
        } => print_json(
            &app.complete_follow_up(actor, id(&assessment)?, index, on)
                .await?,
        )?,
        AssessmentCommand::List => print_json(&app.assessments().await?)?,
    }
    Ok(())
}
