//! The practice's own registers from the command line: staff and their paperwork, incidents,
//! audits and risk assessments. Every command acts as the operator (`cli:operator`) and is
//! audited like any other.

use std::path::Path;

use uuid::Uuid;
use vintrova_core::Actor;
use vintrova_core::assessments::AssessmentRecord;
use vintrova_core::incidents::{IncidentReport, IncidentStep};
use vintrova_core::staff::{Enrollment, Paper};

use crate::cli::{AssessmentCommand, IncidentCommand, StaffCommand};
use crate::console::{print_json, read_input};
use crate::setup::{Result, Runtime};

fn id(raw: &str) -> Result<Uuid> {
    raw.parse()
        .map_err(|_| format!("`{raw}` is not an id; expected a UUID as the list prints").into())
}

fn json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
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
        "One-time enrollment link for `{}` ({}), valid until {}:\n\n  {}/staff/enroll?token={}\n\nHand it over in person or on a channel of its own; it sets the password and second factor.\nThey act once their signed confidentiality agreement is on record — in the console's team page by someone else, or here:\n\n  vintrova staff paperwork {} --kind agreement --on YYYY-MM-DD --reference DOCUMENT-NUMBER",
        enrollment.login,
        enrollment.role.as_str(),
        enrollment.expires_at,
        public_url.trim_end_matches('/'),
        enrollment.token,
        enrollment.staff
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
