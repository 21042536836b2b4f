//! Personal data of one person: stored, copied, erased, shown for a purpose, found.

use vintrova_core::consent::{Channel, ConsentAction};
use vintrova_core::gate::BasisEventKind;
use vintrova_core::learning::Enrollment;
use vintrova_core::payments::Order;
use vintrova_core::support::Ticket;
use vintrova_core::{Actor, Collection};

use crate::cli::SubjectCommand;
use crate::console::{print_json, read_input, request_id, subject_id};
use crate::setup::{self, Config, Result};

pub async fn run(config: &Config, actor: &Actor, command: SubjectCommand) -> Result<()> {
    let rt = setup::open(config).await?;
    let app = &rt.app;
    match command {
        SubjectCommand::Add {
            json,
            source,
            consents,
            contract,
        } => {
            let values = app.parse(&read_input(&json)?)?;
            let bases = if contract {
                vec![(BasisEventKind::ContractStarted, None)]
            } else {
                vec![]
            };
            let collection = Collection {
                source,
                bases,
                consents,
                channel: Channel::StaffWrittenRequest,
                for_request: false,
            };
            let id = app.add_subject(actor, values, collection).await?;
            println!("{id}");
        }
        SubjectCommand::Export { id, request, shape } => {
            let request = request.as_deref().map(request_id).transpose()?;
            let copy = app
                .copy_for_request(actor, subject_id(&id)?, request)
                .await?;
            match shape.as_str() {
                "values" => print_json(&copy.per_value())?,
                _ => print_json(&copy)?,
            }
        }
        SubjectCommand::Erase { id } => {
            let receipt = app.erase(actor, subject_id(&id)?).await?;
            for kept in &receipt.kept {
                say!(
                    "kept: {} ({}) until {}",
                    kept.fields.join(", "),
                    kept.rule,
                    kept.until
                        .map_or("the hold is released".to_string(), |t| t.to_string())
                );
            }
            print_json(&receipt)?;
        }
        SubjectCommand::Show { id, purpose } => {
            print_json(&app.read(actor, subject_id(&id)?, &purpose).await?)?
        }
        SubjectCommand::Consent {
            id,
            purpose,
            withdraw,
            channel,
        } => {
            let channel = Channel::parse(&channel).ok_or_else(|| {
                let known: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
                format!(
                    "`{channel}` is not a consent channel; use one of {}",
                    known.join(", ")
                )
            })?;
            let action = if withdraw {
                ConsentAction::Withdrawn
            } else {
                ConsentAction::Granted
            };
            print_json(
                &app.record_consent(actor, subject_id(&id)?, &purpose, action, channel, None)
                    .await?,
            )?;
        }
        SubjectCommand::Records { id } => {
            let id = subject_id(&id)?;
            print_json(&serde_json::json!({
                "orders": app.records::<Order>(id).await?,
                "enrollments": app.records::<Enrollment>(id).await?,
                "tickets": app.records::<Ticket>(id).await?,
            }))?;
        }
        SubjectCommand::Find { field } => {
            let mut value = String::new();
            std::io::stdin().read_line(&mut value)?;
            print_json(
                &app.find(actor, &field, value.trim_end_matches(['\r', '\n']))
                    .await?,
            )?;
        }
    }
    Ok(())
}
