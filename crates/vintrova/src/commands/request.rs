//! Rights requests (R6) from the command line: letters entered by staff, verified by the code
//! sent back, then fulfilled or rejected.

use vintrova_core::Actor;
use vintrova_core::requests::{AnswerChannel, Fulfilment};
use vintrova_core::rights::RightKind;

use crate::cli::RequestCommand;
use crate::console::{json_input, print_json, read_stdin, request_id, stdin_text, subject_id};
use crate::setup::{self, Config, Result};

/// The letter: from an address, or from a person known by id (the code then goes to the
/// address on record).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Letter {
    email: Option<String>,
    subject: Option<String>,
    description: String,
}

pub async fn run(config: &Config, actor: &Actor, command: RequestCommand) -> Result<()> {
    let rt = setup::open(config).await?;
    let app = &rt.app;
    match command {
        RequestCommand::Add {
            right,
            channel,
            received,
            language,
        } => {
            let received = received
                .as_deref()
                .map(vintrova_core::requests::arrival_time)
                .transpose()?;
            let right = right_kind(&right)?;
            let channel = AnswerChannel::parse(&channel).ok_or_else(|| {
                format!("`{channel}` is not an answer channel; use email, cabinet or post")
            })?;
            let letter: Letter = json_input(
                &read_stdin()?,
                "letter on stdin",
                r#"{"email" or "subject", "description"}"#,
            )?;
            match (letter.email, letter.subject) {
                // Held as a letter until the code comes back: the answer names no person.
                (Some(email), None) => print_json(
                    &app.letter_received(
                        actor,
                        &email,
                        right,
                        &letter.description,
                        channel,
                        (received, language.as_deref()),
                    )
                    .await?,
                )?,
                (None, Some(subject)) => print_json(
                    &app.request_for_subject(
                        actor,
                        subject_id(&subject)?,
                        (right, channel),
                        &letter.description,
                        received,
                    )
                    .await?,
                )?,
                _ => return Err("the letter names its sender by `email` or by `subject` (an id), one of the two".into()),
            }
        }
        RequestCommand::Letters => print_json(&app.letters_waiting().await?)?,
        RequestCommand::Verify { id, code } => {
            print_json(&app.verify_request(actor, request_id(&id)?, &code).await?)?
        }
        RequestCommand::Fulfil { id, purpose } => {
            let id = request_id(&id)?;
            let request = app.request(id).await?.ok_or("no such request")?;
            // A rectification's corrected values come on stdin, as `subject add` takes them.
            let corrections = match request.right {
                RightKind::Rectification => Some(app.parse(&read_stdin()?)?),
                _ => None,
            };
            let fulfilment = Fulfilment::of(request.right, corrections, purpose)?;
            print_json(&app.fulfil(actor, id, fulfilment).await?)?;
        }
        RequestCommand::Reject { id } => {
            let reason = stdin_text("reason")?;
            print_json(
                &app.reject_request(actor, request_id(&id)?, reason.trim())
                    .await?,
            )?;
        }
        RequestCommand::List => print_json(&app.request_queue().await?)?,
        RequestCommand::Remind { days } => {
            print_json(&serde_json::json!({"reminders": app.remind_staff(&days).await?}))?
        }
    }
    Ok(())
}

/// A right by its word, or the words there are.
pub fn right_kind(word: &str) -> Result<RightKind> {
    RightKind::parse(word).ok_or_else(|| {
        format!(
            "`{word}` is not a right; use one of {}",
            RightKind::ALL
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
        .into()
    })
}
