//! The policy as data: checked, diffed, published and announced.

use std::path::Path;
use std::process::ExitCode;

use vintrova_core::Actor;

use crate::EXIT_ERROR;
use crate::cli::PolicyCommand;
use crate::console::{print_json, read_input};
use crate::setup::{self, Config, Result};

pub async fn run(config: &Config, actor: &Actor, command: PolicyCommand) -> Result<ExitCode> {
    match command {
        PolicyCommand::Check { file } => {
            let file = file.or(config.policy_file.clone());
            return Ok(check(file.as_deref()));
        }
        PolicyCommand::Diff { file } => {
            let rt = setup::open(config).await?;
            let text = String::from_utf8(read_input(&file)?)?;
            print_json(&rt.app.diff_policy(&text).await?)?;
        }
        PolicyCommand::Publish { file, effective } => {
            let rt = setup::open(config).await?;
            let text = String::from_utf8(read_input(&file)?)?;
            let published = rt.app.publish_policy(actor, &text, effective).await?;
            if published.material {
                let told = rt.app.announce_policy(actor, &published.version).await?;
                say!(
                    "published {} (material), effective {}; {} people told through the outbox",
                    published.version,
                    published.effective,
                    told.queued
                );
            }
            print_json(&serde_json::json!({
                "version": published.version,
                "effective": published.effective,
                "material": published.material,
                "changes": published.changes,
            }))?;
        }
        PolicyCommand::Announce { version } => {
            let rt = setup::open(config).await?;
            print_json(&rt.app.announce_policy(actor, &version).await?)?;
        }
        PolicyCommand::List => {
            let rt = setup::open(config).await?;
            let versions: Vec<serde_json::Value> = rt
                .app
                .policy_versions()
                .await?
                .into_iter()
                .map(|v| {
                    serde_json::json!({
                        "version": v.version,
                        "replaces": v.replaces,
                        "effective": v.effective,
                        "published_at": v.published_at,
                        "material": v.material,
                        "changes": v.changes.len(),
                    })
                })
                .collect();
            print_json(&versions)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A bad policy is the expected answer here, not a failure: every problem is printed, and
/// the exit code says whether there were any.
fn check(file: Option<&Path>) -> ExitCode {
    match setup::load_policy(file) {
        Ok(policy) => {
            println!(
                "policy {} is valid: {} categories, {} purposes, {} retention rules, {} recipients",
                policy.version,
                policy.categories.len(),
                policy.purposes.len(),
                policy.retention_rules.len(),
                policy.recipients.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            match e.downcast_ref::<vintrova_policy::PolicyError>() {
                Some(problems) => {
                    for p in problems.problems() {
                        say!("{p}");
                    }
                    say!(
                        "the policy is invalid: {} problem(s)",
                        problems.problems().len()
                    );
                }
                None => say!("error: {e}"),
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}
