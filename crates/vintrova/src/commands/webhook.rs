//! `webhook`: the platform's endpoints (add, list, rotate, enable, remove), their deliveries,
//! and `verify`, the receiver's check of a webhook for a script or by hand.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::json;
use uuid::Uuid;
use vintrova_core::Actor;
use vintrova_core::webhooks::{self, Secret};

use crate::cli::WebhookCommand;
use crate::console::print_json;
use crate::poster::HttpPoster;
use crate::setup::{self, Config, Result};

pub async fn run(config: &Config, actor: &Actor, command: WebhookCommand) -> Result<ExitCode> {
    // The receiver's check needs no installation: it must not make one.
    if let WebhookCommand::Verify {
        id,
        timestamp,
        signature,
        secret_files,
    } = command
    {
        return verify(id, timestamp, signature, secret_files);
    }
    manage(config, actor, command).await?;
    Ok(ExitCode::SUCCESS)
}

async fn manage(config: &Config, actor: &Actor, command: WebhookCommand) -> Result<()> {
    let rt = setup::open(config).await?;
    let app = &rt.app;
    match command {
        WebhookCommand::Verify { .. } => Ok(()),
        WebhookCommand::Add {
            url,
            kinds,
            secret_file,
        } => {
            let (endpoint, secret) = app.add_webhook(actor, &url, &kinds).await?;
            print_json(&json!({
                "endpoint": endpoint,
                "secret": hand_over(&secret, secret_file.as_deref())?,
            }))
        }
        WebhookCommand::List => print_json(&app.webhooks().await?),
        WebhookCommand::Remove { id } => {
            app.remove_webhook(actor, endpoint_id(&id)?).await?;
            say!("Endpoint {id} removed; nothing more is sent to it.");
            Ok(())
        }
        WebhookCommand::Rotate { id, secret_file } => {
            let secret = app.rotate_webhook_secret(actor, endpoint_id(&id)?).await?;
            print_json(&json!({
                "secret": hand_over(&secret, secret_file.as_deref())?,
                "old_secret_signs_until": app.now() + jiff::SignedDuration::from_hours(24),
            }))
        }
        WebhookCommand::Enable { id } => {
            print_json(&app.enable_webhook(actor, endpoint_id(&id)?).await?)
        }
        WebhookCommand::Deliveries { id, limit } => {
            print_json(&app.webhook_deliveries(endpoint_id(&id)?, limit).await?)
        }
        WebhookCommand::Deliver { timeout } => {
            let poster = HttpPoster::new(std::time::Duration::from_secs(timeout));
            print_json(&app.deliver_webhooks(&poster, 500).await?)
        }
    }
}

/// The secret, printed this once, or written to a file only its owner can read (then the
/// output says where).
fn hand_over(secret: &Secret, file: Option<&Path>) -> Result<String> {
    match file {
        None => Ok(secret.reveal()),
        Some(path) => {
            setup::write_secret(path, format!("{}\n", secret.reveal()).as_bytes())
                .map_err(|e| format!("cannot write the secret to {}: {e}", path.display()))?;
            Ok(format!("written to {}", path.display()))
        }
    }
}

fn endpoint_id(raw: &str) -> Result<Uuid> {
    raw.parse().map_err(|_| {
        format!("`{raw}` is not an endpoint id; expected a UUID as `webhook list` shows").into()
    })
}

fn verify(
    id: String,
    timestamp: String,
    signature: String,
    secret_files: Vec<PathBuf>,
) -> Result<ExitCode> {
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
