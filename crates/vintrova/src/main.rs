//! The Vintrova binary: the command line, configuration and wiring, and the server.
//!
//! May not: hold business rules (core does) or SQL (the store crates do). Output for scripts
//! goes to stdout as JSON; messages for people go to stderr. Personal data never appears in
//! arguments: look-up values are read from stdin.

#[macro_use]
mod console;

mod backup;
mod cli;
mod commands;
mod demo;
mod jobs;
mod mailbox;
mod poster;
mod practice;
mod settings;
mod setup;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use vintrova_core::receipts::ReceiptError;
use vintrova_core::{Actor, CoreError};

use cli::{Cli, Command, ConfigCommand, StaffCommand};
use setup::{Config, Result};

/// Exit codes scripts can rely on.
const EXIT_ERROR: u8 = 1;
const EXIT_UNKNOWN_SUBJECT: u8 = 3;
const EXIT_TAMPERED: u8 = 4;

fn main() -> ExitCode {
    process_defaults();
    if let Err(refused) = console::check_arguments() {
        say!("error: {refused}");
        return ExitCode::from(EXIT_ERROR);
    }
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // Defaults < the configuration file < the environment < flags.
    let merged = settings::Given::of(&cli, &matches).merge();
    let (settings, file) = match merged {
        Ok(merged) => merged,
        Err(e) => {
            say!("error: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    if let Command::Config(ConfigCommand::Check) = cli.command {
        return match settings::check(&settings, file.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                say!("error: {e}");
                ExitCode::from(EXIT_ERROR)
            }
        };
    }
    let mail = match settings.apply(&mut cli).and_then(|()| settings.mail()) {
        Ok(mail) => mail,
        Err(e) => {
            say!("error: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    // Structured logs: JSON lines with VINTROVA_LOG_FORMAT=json, for a log shipper.
    let filter = tracing_subscriber::EnvFilter::try_from_env("VINTROVA_LOG")
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("VINTROVA_LOG_FORMAT").is_ok_and(|f| f == "json") {
        logs.json().init();
    } else {
        logs.init();
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            say!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    match runtime.block_on(run(cli, mail)) {
        Ok(code) => code,
        Err(e) => {
            let code = match e.downcast_ref::<CoreError>() {
                Some(CoreError::UnknownSubject(_)) => EXIT_UNKNOWN_SUBJECT,
                Some(CoreError::Tampered(_) | CoreError::AuditBroken(_)) => EXIT_TAMPERED,
                // A head file that is not ours is tampering too.
                Some(CoreError::Vault(vintrova_vault::VaultError::HeadFile(
                    vintrova_vault::HeadFileError::Forged { .. },
                ))) => EXIT_TAMPERED,
                _ if e.downcast_ref::<ReceiptError>().is_some() => EXIT_TAMPERED,
                _ => EXIT_ERROR,
            };
            say!("error: {e}");
            ExitCode::from(code)
        }
    }
}

/// Exit code of a command whose reader went away, as a shell reports a process ended by SIGPIPE.
const EXIT_CLOSED_PIPE: i32 = 128 + 13;

/// What the process needs before anything else: every file it creates (databases with their
/// WAL and shared memory, key store, head, mail, TLS key, journals, backups) readable by the
/// owner only; and a closed output pipe (`… | head`) ending the command quietly with the
/// usual code, instead of a panic with a backtrace.
fn process_defaults() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(EXIT_CLOSED_PIPE);
        }
        report(info);
    }));
}

async fn run(cli: Cli, mail: setup::Mail) -> Result<ExitCode> {
    let config = Config {
        data_dir: cli.data_dir,
        database_url: cli.database_url,
        policy_file: cli.policy,
        calendar_file: cli.calendar,
        audit_head: cli.audit_head,
        erasure_journal: cli.erasure_journal,
        mail,
    };
    let actor = Actor::new("cli", "operator");
    if cli.command.only_reads() && !config.data_dir.exists() {
        // A mistyped --data-dir must not become a new, empty installation that "verifies".
        return Err(format!(
            "there is no data directory at {}: this command only reads an installation; check --data-dir (or VINTROVA_DATA_DIR)",
            config.data_dir.display()
        )
        .into());
    }
    match cli.command {
        // Answered in `main`, before the settings are put in force (it must speak of bad ones).
        Command::Config(_) => {}
        Command::Webhook(command) => return commands::webhook::run(&config, &actor, command).await,
        Command::Policy(command) => return commands::policy::run(&config, &actor, command).await,
        Command::Serve(args) => commands::serve::run(&config, args).await?,
        // The matrix is the code's own: printing it needs no installation.
        Command::Staff(StaffCommand::Matrix) => {
            print!("{}", vintrova_web::access::matrix_markdown())
        }
        Command::Staff(command) => {
            practice::staff(&setup::open(&config).await?, &actor, command).await?
        }
        Command::Incident(command) => {
            practice::incident(&setup::open(&config).await?, &actor, command).await?
        }
        Command::Assessment(command) => {
            practice::assessment(&setup::open(&config).await?, &actor, command).await?
        }
        Command::Subject(command) => commands::subject::run(&config, &actor, command).await?,
        Command::Audit(command) => commands::keys::audit(&config, &actor, command).await?,
        Command::Receipt(command) => commands::keys::receipt(&config, command).await?,
        Command::Keys(command) => commands::keys::run(&config, &actor, command).await?,
        Command::Demo(command) => commands::demo::run(&config, command).await?,
        Command::Account(command) => commands::services::account(&config, &actor, command).await?,
        Command::Catalog(command) => commands::services::catalog(&config, command).await?,
        Command::Enrollment(command) => {
            commands::services::enrollment(&config, &actor, command).await?
        }
        Command::Ticket(command) => commands::services::ticket(&config, &actor, command).await?,
        Command::Order(command) => commands::services::order(&config, &actor, command).await?,
        Command::Event {
            id,
            purpose,
            json,
            source,
        } => commands::services::event(&config, &actor, &id, &purpose, &json, &source).await?,
        Command::Request(command) => commands::request::run(&config, &actor, command).await?,
        Command::Outbox(command) => commands::outbox::run(&config, command).await?,
        Command::Inbox(command) => commands::inbox::run(&config, &actor, command).await?,
        Command::Notify { kind } => commands::outbox::notify(&config, &actor, &kind).await?,
        Command::Retention(command) => commands::retention::run(&config, command).await?,
        Command::Hold(command) => commands::retention::hold(&config, &actor, command).await?,
        Command::Backup(command) => commands::backup::run(&config, command).await?,
    }
    Ok(ExitCode::SUCCESS)
}
