//! `webhook verify`: the receiver's check of a webhook, for a script or by hand.

use std::io::Read;
use std::process::ExitCode;

use vintrova_core::webhooks::{self, Secret};

use crate::cli::WebhookCommand;
use crate::setup::Result;

pub fn run(command: WebhookCommand) -> Result<ExitCode> {
    let WebhookCommand::Verify {
        id,
        timestamp,
        signature,
        secret_files,
    } = command;
    let mut texts = vec![];
    for file in &secret_files {
        texts.push(
            std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read the secret in {}: {e}", file.display()))?,
        );
    }
    if let Ok(secret) = std::env::var("VINTROVA_WEBHOOK_SECRET") {
        texts.push(secret);
    }
    if texts.is_empty() {
        return Err("no secret: give --secret-file FILE or VINTROVA_WEBHOOK_SECRET".into());
    }
    let secrets = texts
        .iter()
        .map(|t| Secret::parse(t))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| format!("a secret was refused: {e}"))?;
    let mut body = vec![];
    std::io::stdin().read_to_end(&mut body)?;
    let now = jiff::Timestamp::now().as_second();
    match webhooks::verify(&secrets, (&id, &timestamp, &signature), &body, now) {
        Ok(()) => {
            say!("The webhook is signed with the secret and fresh.");
            Ok(ExitCode::SUCCESS)
        }
        Err(refused) => {
            say!("refused: {refused}");
            Ok(ExitCode::from(crate::EXIT_TAMPERED))
        }
    }
}
