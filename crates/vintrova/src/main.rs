//! The Vintrova binary: the command line, configuration and wiring, and the server.
//!
//! May not: hold business rules (core does) or SQL (the store crates do). Output for scripts
//! goes to stdout as JSON; messages for people go to stderr. Personal data never appears in
//! arguments: look-up values are read from stdin.

/// A message for people on stderr. Unlike `eprintln!`, a closed stderr (a daemon started
/// without one) loses the message instead of stopping the process.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod backup;
mod demo;
mod practice;
mod setup;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde::Serialize;
use uuid::Uuid;
use vintrova_core::consent::{Channel, ConsentAction};
use vintrova_core::gate::BasisEventKind;
use vintrova_core::learning::{Enrollment, Offering};
use vintrova_core::notifications::NoticeKind;
use vintrova_core::outbox::Transport;
use vintrova_core::payments::Order;
use vintrova_core::receipts::ReceiptError;
use vintrova_core::requests::{AnswerChannel, Fulfilment};
use vintrova_core::rights::RightKind;
use vintrova_core::support::{Author, Ticket};
use vintrova_core::{Actor, Collection, CoreError};

use setup::{Config, Result};

/// Vintrova: personal data held exactly as the privacy policy says.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Data directory: SQLite files, the master key, the API token.
    #[arg(
        long,
        global = true,
        env = "VINTROVA_DATA_DIR",
        default_value = "./vintrova-data"
    )]
    data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; SQLite in the data directory when omitted.
    #[arg(long, global = true, env = "VINTROVA_DATABASE_URL")]
    database_url: Option<String>,
    /// A policy file to enforce instead of the one shipped with this build.
    #[arg(long, global = true, env = "VINTROVA_POLICY")]
    policy: Option<PathBuf>,
    /// Decrees moving days off this year (TOML: `holidays = ["YYYY-MM-DD", …]`,
    /// `workdays = [...]`), on top of Kazakhstan's calendar built in.
    #[arg(long, global = true, env = "VINTROVA_CALENDAR")]
    calendar: Option<PathBuf>,
    /// Where the signed head of the audit chain is kept, outside the database
    /// (`DATA_DIR/audit-head` by default; a mount the database's administrators cannot write
    /// is better).
    #[arg(long, global = true, env = "VINTROVA_AUDIT_HEAD")]
    audit_head: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct ServeArgs {
    #[arg(long, env = "VINTROVA_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// PEM certificate chain to serve HTTPS with (TLS 1.2 and 1.3 only).
    #[arg(long, env = "VINTROVA_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of the certificate.
    #[arg(long, env = "VINTROVA_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// For development: HTTPS with a self-signed certificate kept in the data directory.
    #[arg(long, conflicts_with = "tls_cert")]
    self_signed: bool,
    /// Plain HTTP on a non-loopback address, for a TLS-terminating proxy in front.
    #[arg(long, env = "VINTROVA_BEHIND_TLS_PROXY")]
    behind_tls_proxy: bool,
    /// Peers whose `X-Forwarded-For` is believed (loopback when none is given).
    #[arg(
        long = "trusted-proxy",
        env = "VINTROVA_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Where staff reach the server, for the enrollment link printed at first start.
    #[arg(long, env = "VINTROVA_PUBLIC_URL")]
    public_url: Option<String>,
    /// The country the primary database is in (ISO 3166 code), as declared by the operator.
    #[arg(long, env = "VINTROVA_STORAGE_COUNTRY", default_value = "KZ")]
    storage_country: String,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: the API, the staff console and the background jobs.
    Serve(ServeArgs),
    /// Staff accounts, their roles and paperwork (R7.6, R7.7).
    #[command(subcommand)]
    Staff(practice::StaffCommand),
    /// The incident register (R7.9).
    #[command(subcommand)]
    Incident(practice::IncidentCommand),
    /// Security audits and risk assessments (R7.8).
    #[command(subcommand)]
    Assessment(practice::AssessmentCommand),
    /// Personal data of one person.
    #[command(subcommand)]
    Subject(SubjectCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Signed erasure receipts: check one, print the key that signs them.
    #[command(subcommand)]
    Receipt(ReceiptCommand),
    /// The policy as data.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// The key hierarchy.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Synthetic data for demos and benchmarks.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// Accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// The catalog of courses, webinars and consultations.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Enrollments in courses, webinars and consultations.
    #[command(subcommand)]
    Enrollment(EnrollmentCommand),
    /// Support tickets; message texts are read from stdin.
    #[command(subcommand)]
    Ticket(TicketCommand),
    /// Orders and refunds through the built-in payment provider.
    #[command(subcommand)]
    Order(OrderCommand),
    /// Record technical or usage events for a purpose, from JSON `{"technical": {…}}`.
    Event {
        id: String,
        #[arg(long)]
        purpose: String,
        #[arg(long)]
        json: PathBuf,
        #[arg(long, default_value = "visit_technical")]
        source: String,
    },
    /// Rights requests (R6): enter, verify, fulfil, reject, list by deadline.
    #[command(subcommand)]
    Request(RequestCommand),
    /// The outbox of messages waiting to be delivered.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Retention (R8): the sweep that deletes what fell due.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Legal holds: keep data past its date while a lawful reason requires it.
    #[command(subcommand)]
    Hold(HoldCommand),
    /// Encrypted backups that keep erasures erased.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Queue a notice for everyone who consented to notifications and did not object.
    Notify {
        /// `course_update` or `new_feature`.
        #[arg(long)]
        kind: String,
    },
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Delete everything due (or, with --dry-run, count it) and print the receipt.
    Run {
        /// Decide and count; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Decide as of the end of this day (YYYY-MM-DD, policy time zone); a future day only
        /// with --dry-run.
        #[arg(long)]
        as_of: Option<String>,
        /// Print the receipt as JSON (the default prints a table).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum HoldCommand {
    /// Place a hold on a person's data, on categories of everyone's, or both.
    Place {
        /// The legal reference: a case or order number, never a name.
        #[arg(long)]
        reference: String,
        #[arg(long)]
        subject: Option<String>,
        /// A category to keep; repeat for several.
        #[arg(long = "category")]
        categories: Vec<String>,
        /// The day it lapses by itself (YYYY-MM-DD); until released when omitted.
        #[arg(long)]
        until: Option<String>,
    },
    /// Release a hold: the next sweep deletes what it kept, once due.
    Release { id: String },
    /// Every hold, placed and released, as JSON.
    List,
}

#[derive(Subcommand)]
enum BackupCommand {
    /// Write an encrypted, consistent copy of the data and key store to FILE.
    Create {
        #[arg(long)]
        out: PathBuf,
        /// Days the backup stays restorable; then its key is forgotten.
        #[arg(long, env = "VINTROVA_BACKUP_KEY_DAYS", default_value_t = backup::DEFAULT_KEY_DAYS)]
        key_days: i64,
    },
    /// Check that FILE opens with its key and is whole.
    Verify { file: PathBuf },
    /// Restore FILE into the current --data-dir / --database-url (server stopped), then erase
    /// again everyone erased since, and sweep.
    Restore { file: PathBuf },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Close an account: every session ends, and the contract with it.
    Close { id: String },
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Print the catalog as JSON.
    List,
    /// Add or replace an offering from JSON `{"id", "kind", "level", "title_ru", "title_kk", "title_en"}`.
    Add {
        #[arg(long)]
        json: PathBuf,
    },
}

#[derive(Subcommand)]
enum EnrollmentCommand {
    /// Enroll a person (or sign them up for a webinar, book a consultation).
    Add {
        id: String,
        #[arg(long)]
        offering: String,
    },
    /// Record progress in percent; 100 completes the enrollment.
    Progress {
        enrollment: String,
        #[arg(long)]
        percent: i64,
    },
    Cancel {
        enrollment: String,
    },
}

#[derive(Subcommand)]
enum TicketCommand {
    /// Open a ticket for a person; the first message is read from stdin.
    Open {
        id: String,
        #[arg(long)]
        title: String,
    },
    /// Add a message read from stdin, as the person or (with --staff) as support.
    Reply {
        ticket: String,
        #[arg(long)]
        staff: bool,
    },
    Close {
        ticket: String,
    },
}

#[derive(Subcommand)]
enum OrderCommand {
    /// Open an order of AMOUNT minor units; prints the order and where to pay.
    Create {
        id: String,
        #[arg(long)]
        amount: i64,
        #[arg(long, default_value = "KZT")]
        currency: String,
        #[arg(long, default_value = "card")]
        method: String,
    },
    /// Ask the provider to refund a paid order.
    Refund { order: String },
}

#[derive(Subcommand)]
enum RequestCommand {
    /// Enter a request that came by letter; `{"email", "description"}` is read from stdin, and a
    /// one-time code goes to the address (`{"subject": ID, "description"}`: to the address on
    /// record of a person the letter names by id).
    Add {
        /// information, access, rectification, erasure, restriction, consent_withdrawal,
        /// marketing_objection
        #[arg(long)]
        right: String,
        /// email, cabinet or post
        #[arg(long, default_value = "email")]
        channel: String,
    },
    /// Check the code the requester sent back.
    Verify {
        id: String,
        #[arg(long)]
        code: String,
    },
    /// Fulfil a verified request; for rectification the corrected data is read from stdin.
    Fulfil {
        id: String,
        /// For consent_withdrawal: only this purpose (all when omitted).
        #[arg(long)]
        purpose: Option<String>,
    },
    /// Reject a request; the reason is read from stdin and kept sealed.
    Reject { id: String },
    /// Open requests, the most urgent first, with days left.
    List,
    /// Remind the data protection service of requests nearing or past their deadline.
    Remind {
        /// Days before the deadline to remind at.
        #[arg(long, value_delimiter = ',', default_values_t = vintrova_core::requests::DEFAULT_REMINDERS)]
        days: Vec<i64>,
    },
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// Deliver what is due now (to `DATA_DIR/mail/` as .eml files); `serve` does this every 10 s.
    Deliver,
    /// How many messages are in each state.
    Status,
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Fill the database with realistic synthetic people and their activity over several years.
    Seed {
        #[arg(long, default_value_t = 100)]
        subjects: u64,
        /// How many years back the activity starts.
        #[arg(long, default_value_t = 3)]
        years: i64,
        /// The same seed gives the same people.
        #[arg(long, default_value_t = 2025)]
        seed: u64,
    },
}

#[derive(Subcommand)]
enum SubjectCommand {
    /// Store a new person's data; prints the new subject id.
    Add {
        /// JSON file `{"contact": {"first_name": …}, …}`; `-` reads stdin.
        #[arg(long)]
        json: PathBuf,
        /// How the data arrived (a source of the policy).
        #[arg(long, default_value = "staff_entry")]
        source: String,
        /// A purpose the person consented to (repeatable).
        #[arg(long = "consent")]
        consents: Vec<String>,
        /// A contract with the person is in force (an account, an enrollment).
        #[arg(long)]
        contract: bool,
    },
    /// Print a JSON copy of everything held on the person: the answer to their verified
    /// access request, which `--request` names (a copy without one is refused).
    Export {
        id: String,
        /// The person's verified access, information or rectification request.
        #[arg(long)]
        request: Option<String>,
    },
    /// Erase the person's data: everything the law lets go, at once.
    Erase { id: String },
    /// Print what one purpose may see of the person.
    Show {
        id: String,
        #[arg(long)]
        purpose: String,
    },
    /// Record a consent given or withdrawn (by staff on a written request unless --channel says otherwise).
    Consent {
        id: String,
        #[arg(long)]
        purpose: String,
        /// Withdraw instead of grant.
        #[arg(long)]
        withdraw: bool,
        #[arg(long, default_value = "staff_written_request")]
        channel: String,
    },
    /// Print a person's orders, enrollments and support tickets (states and times, no PD).
    Records { id: String },
    /// Find people by an indexed field; the value is read from stdin.
    Find {
        /// `contact.email` or `contact.phone`
        #[arg(long)]
        field: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify the whole hash chain; exit 0 when intact, 4 naming the first bad entry.
    Verify,
}

#[derive(Subcommand)]
enum ReceiptCommand {
    /// Check an erasure receipt's signature and print what it says; exit 0 when it verifies,
    /// 4 when it does not.
    Verify {
        file: PathBuf,
        /// The published public key (PEM) to check with, offline; without it, this
        /// installation's key, and whether this server issued the receipt.
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Print the public key that signs receipts (PEM), as the site publishes it.
    Key,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate a policy file; print every problem with its path.
    Check {
        /// The file to check; the one in force when omitted.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// What a new policy file changes against the newest published version.
    Diff {
        #[arg(long)]
        file: PathBuf,
    },
    /// Publish a new version; a material change needs an effective date 30 days ahead, and
    /// everyone is told through the outbox.
    Publish {
        #[arg(long)]
        file: PathBuf,
        /// YYYY-MM-DD, in Almaty.
        #[arg(long)]
        effective: jiff::civil::Date,
    },
    /// Tell everyone not yet told of a published version (resumes a cut-short run).
    Announce { version: String },
    /// Every published version, oldest first.
    List,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Re-wrap every data key under a new master key; the data is not touched.
    Rotate,
}

/// Exit codes scripts can rely on.
const EXIT_ERROR: u8 = 1;
const EXIT_UNKNOWN_SUBJECT: u8 = 3;
const EXIT_TAMPERED: u8 = 4;

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            let code = match e.downcast_ref::<CoreError>() {
                Some(CoreError::UnknownSubject(_)) => EXIT_UNKNOWN_SUBJECT,
                Some(CoreError::Tampered(_)) => EXIT_TAMPERED,
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

/// Open an installation that exists, never creating one: checking a receipt on a machine
/// without Vintrova must not make a data directory and a key of its own.
async fn open_installation(config: &Config) -> Result<setup::Runtime> {
    if !config.master_key_path().exists() {
        return Err(format!(
            "there is no Vintrova installation in {}: give the published key with --key FILE (from /.well-known/vintrova-receipt-key.pem), or --data-dir of the server",
            config.data_dir.display()
        )
        .into());
    }
    setup::open(config).await
}

fn print_json(value: &impl Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn subject_id(raw: &str) -> Result<Uuid> {
    raw.parse().map_err(|_| {
        format!("`{raw}` is not a subject id; expected a UUID as `subject add` prints").into()
    })
}

fn request_id(raw: &str) -> Result<Uuid> {
    raw.parse().map_err(|_| {
        format!("`{raw}` is not a request id; expected a UUID as `request add` prints (see `request list`)").into()
    })
}

fn read_input(path: &PathBuf) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes)?;
    } else {
        bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    }
    Ok(bytes)
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let config = Config {
        data_dir: cli.data_dir,
        database_url: cli.database_url,
        policy_file: cli.policy,
        calendar_file: cli.calendar,
        audit_head: cli.audit_head,
    };
    let actor = Actor::new("cli", "operator");
    match cli.command {
        Command::Policy(PolicyCommand::Check { file }) => {
            let file = file.or(config.policy_file.clone());
            return Ok(check_policy(file.as_deref()));
        }
        Command::Policy(PolicyCommand::Diff { file }) => {
            let rt = setup::open(&config).await?;
            let text = String::from_utf8(read_input(&file)?)?;
            print_json(&rt.app.diff_policy(&text).await?)?;
        }
        Command::Policy(PolicyCommand::Publish { file, effective }) => {
            let rt = setup::open(&config).await?;
            let text = String::from_utf8(read_input(&file)?)?;
            let published = rt.app.publish_policy(&actor, &text, effective).await?;
            if published.material {
                let told = rt.app.announce_policy(&actor, &published.version).await?;
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
        Command::Policy(PolicyCommand::Announce { version }) => {
            let rt = setup::open(&config).await?;
            print_json(&rt.app.announce_policy(&actor, &version).await?)?;
        }
        Command::Policy(PolicyCommand::List) => {
            let rt = setup::open(&config).await?;
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
        Command::Serve(args) => serve(&config, args).await?,
        Command::Staff(practice::StaffCommand::Matrix) => {
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
        Command::Subject(command) => {
            let rt = setup::open(&config).await?;
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
                    let id = app.add_subject(&actor, values, collection).await?;
                    println!("{id}");
                }
                SubjectCommand::Export { id, request } => {
                    let request = request.as_deref().map(request_id).transpose()?;
                    print_json(
                        &app.copy_for_request(&actor, subject_id(&id)?, request)
                            .await?,
                    )?
                }
                SubjectCommand::Erase { id } => {
                    let receipt = app.erase(&actor, subject_id(&id)?).await?;
                    for kept in &receipt.kept {
                        say!(
                            "kept by law: {} ({}) until {}",
                            kept.fields.join(", "),
                            kept.rule,
                            kept.until
                        );
                    }
                    print_json(&receipt)?;
                }
                SubjectCommand::Show { id, purpose } => {
                    print_json(&app.read(&actor, subject_id(&id)?, &purpose).await?)?
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
                        &app.record_consent(
                            &actor,
                            subject_id(&id)?,
                            &purpose,
                            action,
                            channel,
                            None,
                        )
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
                        &app.find(&actor, &field, value.trim_end_matches(['\r', '\n']))
                            .await?,
                    )?;
                }
            }
        }
        Command::Audit(AuditCommand::Verify) => {
            let rt = setup::open(&config).await?;
            let report = rt.app.verify_audit().await?;
            println!("audit log intact: {} entries verified", report.entries);
        }
        Command::Receipt(ReceiptCommand::Key) => {
            let rt = open_installation(&config).await?;
            print!("{}", rt.app.receipt_key().to_pem());
        }
        Command::Receipt(ReceiptCommand::Verify { file, key }) => {
            let text = String::from_utf8(read_input(&file)?)
                .map_err(|_| format!("{} is not a text file", file.display()))?;
            let (public, rt) = match key {
                Some(path) => {
                    let pem = std::fs::read_to_string(&path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                    let public = vintrova_vault::PublicKey::from_pem(&pem).ok_or_else(|| {
                        format!(
                            "{} is not an Ed25519 public key in PEM (-----BEGIN PUBLIC KEY-----)",
                            path.display()
                        )
                    })?;
                    (public, None)
                }
                None => {
                    let rt = open_installation(&config).await?;
                    (rt.app.receipt_key(), Some(rt))
                }
            };
            let body = vintrova_core::receipts::verify(&text, &public)?;
            println!(
                "receipt {} verifies with key {}",
                body.receipt,
                public.fingerprint()
            );
            println!("issued by:  {}", body.issuer);
            println!("cause:      {}", body.cause.as_str());
            println!("erased at:  {}", body.erased_at);
            println!("destroyed:  {}", body.destroyed.join(", "));
            for kept in &body.kept {
                let until = kept
                    .until
                    .map_or("the services end".to_string(), |t| t.to_string());
                println!(
                    "kept:       {} under the rule `{}` until {until}",
                    kept.categories.join(", "),
                    kept.rule,
                );
            }
            if let Some(rt) = rt {
                match rt.app.issued_receipt(&text).await? {
                    Some(r) => println!("issued here: yes, on {}", r.issued_at),
                    None => println!(
                        "issued here: no record of it (signed with this key, but not by this database)"
                    ),
                }
            }
        }
        Command::Demo(DemoCommand::Seed {
            subjects,
            years,
            seed,
        }) => {
            let (clock, span) = demo::clock_years_ago(years)?;
            let rt = setup::open_with_clock(&config, clock.clone()).await?;
            let seeded = demo::seed(&rt.app, &clock, span, subjects, seed).await?;
            print_json(&seeded)?;
        }
        Command::Account(AccountCommand::Close { id }) => {
            let rt = setup::open(&config).await?;
            rt.app.close_account(&actor, subject_id(&id)?).await?;
            say!("account closed: its sessions ended, and the contract with them");
        }
        Command::Catalog(command) => {
            let rt = setup::open(&config).await?;
            match command {
                CatalogCommand::List => print_json(&rt.app.catalog().await?)?,
                CatalogCommand::Add { json } => {
                    let offering: Offering = serde_json::from_slice(&read_input(&json)?)
                        .map_err(|e| format!("the offering is not in the expected shape (line {}, column {}): {{\"id\", \"kind\", \"level\", \"title_ru\", \"title_kk\", \"title_en\"}}", e.line(), e.column()))?;
                    rt.app.add_offering(&offering).await?;
                }
            }
        }
        Command::Enrollment(command) => {
            let rt = setup::open(&config).await?;
            let app = &rt.app;
            let done = match command {
                EnrollmentCommand::Add { id, offering } => {
                    app.enroll(&actor, subject_id(&id)?, &offering, "course_enrollment")
                        .await?
                }
                EnrollmentCommand::Progress {
                    enrollment,
                    percent,
                } => {
                    app.record_progress(&actor, subject_id(&enrollment)?, percent)
                        .await?
                }
                EnrollmentCommand::Cancel { enrollment } => {
                    app.cancel_enrollment(&actor, subject_id(&enrollment)?)
                        .await?
                }
            };
            print_json(&done)?;
        }
        Command::Ticket(command) => {
            let rt = setup::open(&config).await?;
            let app = &rt.app;
            let stdin_text = || -> Result<String> {
                Ok(String::from_utf8(read_input(&PathBuf::from("-"))?)
                    .map_err(|_| "the message is not UTF-8 text")?)
            };
            let ticket = match command {
                TicketCommand::Open { id, title } => {
                    app.open_ticket(&actor, subject_id(&id)?, &title, &stdin_text()?)
                        .await?
                }
                TicketCommand::Reply { ticket, staff } => {
                    let author = if staff { Author::Staff } else { Author::Person };
                    app.reply(&actor, subject_id(&ticket)?, author, &stdin_text()?)
                        .await?
                }
                TicketCommand::Close { ticket } => {
                    app.close_ticket(&actor, subject_id(&ticket)?).await?
                }
            };
            print_json(&ticket)?;
        }
        Command::Order(command) => {
            let rt = setup::open(&config).await?;
            let provider = setup::dev_provider(&config)?;
            match command {
                OrderCommand::Create {
                    id,
                    amount,
                    currency,
                    method,
                } => print_json(
                    &rt.app
                        .create_order(
                            &actor,
                            &provider,
                            subject_id(&id)?,
                            amount,
                            &currency,
                            &method,
                        )
                        .await?,
                )?,
                OrderCommand::Refund { order } => print_json(
                    &rt.app
                        .refund_order(&actor, &provider, subject_id(&order)?)
                        .await?,
                )?,
            }
        }
        Command::Event {
            id,
            purpose,
            json,
            source,
        } => {
            let rt = setup::open(&config).await?;
            let values = rt.app.parse(&read_input(&json)?)?;
            print_json(
                &rt.app
                    .record_events(&actor, subject_id(&id)?, &purpose, values, &source)
                    .await?,
            )?;
        }
        Command::Request(command) => {
            let rt = setup::open(&config).await?;
            let app = &rt.app;
            match command {
                RequestCommand::Add { right, channel } => {
                    let right = RightKind::parse(&right).ok_or_else(|| {
                        format!(
                            "`{right}` is not a right; use one of {}",
                            RightKind::ALL
                                .iter()
                                .map(|r| r.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })?;
                    let channel = AnswerChannel::parse(&channel).ok_or_else(|| {
                        format!("`{channel}` is not an answer channel; use email, cabinet or post")
                    })?;
                    /// The letter: from an address, or from a person known by id (the code
                    /// then goes to the address on record).
                    #[derive(serde::Deserialize)]
                    #[serde(deny_unknown_fields)]
                    struct Letter {
                        email: Option<String>,
                        subject: Option<String>,
                        description: String,
                    }
                    let letter: Letter = serde_json::from_slice(&read_input(&PathBuf::from("-"))?)
                        .map_err(|e| {
                            format!(
                                "stdin is not {{\"email\" or \"subject\", \"description\"}} (line {}, column {})",
                                e.line(),
                                e.column()
                            )
                        })?;
                    let request = match (letter.email, letter.subject) {
                        (Some(email), None) => {
                            app.request_by_email(&actor, &email, right, &letter.description, channel)
                                .await?
                        }
                        (None, Some(subject)) => {
                            app.request_for_subject(
                                &actor,
                                subject_id(&subject)?,
                                right,
                                &letter.description,
                                channel,
                            )
                            .await?
                        }
                        _ => return Err("the letter names its sender by `email` or by `subject` (an id), one of the two".into()),
                    };
                    print_json(&request)?;
                }
                RequestCommand::Verify { id, code } => {
                    print_json(&app.verify_request(&actor, request_id(&id)?, &code).await?)?
                }
                RequestCommand::Fulfil { id, purpose } => {
                    let id = subject_id(&id)?;
                    let request = app.request(id).await?.ok_or("no such request")?;
                    let fulfilment = match request.right {
                        RightKind::Information => Fulfilment::Information,
                        RightKind::Access => Fulfilment::Access,
                        RightKind::Rectification => {
                            Fulfilment::Rectification(app.parse(&read_input(&PathBuf::from("-"))?)?)
                        }
                        RightKind::Erasure => Fulfilment::Erasure,
                        RightKind::Restriction => Fulfilment::Restriction,
                        RightKind::ConsentWithdrawal => Fulfilment::ConsentWithdrawal(purpose),
                        RightKind::MarketingObjection => Fulfilment::MarketingObjection,
                    };
                    print_json(&app.fulfil(&actor, id, fulfilment).await?)?;
                }
                RequestCommand::Reject { id } => {
                    let reason = String::from_utf8(read_input(&PathBuf::from("-"))?)
                        .map_err(|_| "the reason is not UTF-8 text")?;
                    print_json(
                        &app.reject_request(&actor, subject_id(&id)?, reason.trim())
                            .await?,
                    )?;
                }
                RequestCommand::List => print_json(&app.request_queue().await?)?,
                RequestCommand::Remind { days } => {
                    print_json(&serde_json::json!({"reminders": app.remind_staff(&days).await?}))?
                }
            }
        }
        Command::Outbox(command) => {
            let rt = setup::open(&config).await?;
            match command {
                OutboxCommand::Deliver => {
                    print_json(&rt.app.deliver(mail_transport(&rt)?.as_ref(), 500).await?)?
                }
                OutboxCommand::Status => {
                    let counts: std::collections::BTreeMap<String, i64> =
                        rt.app.outbox_counts().await?.into_iter().collect();
                    print_json(&counts)?
                }
            }
        }
        Command::Notify { kind } => {
            let kind = NoticeKind::parse(&kind).ok_or_else(|| {
                format!("`{kind}` is not a notice kind; use course_update or new_feature")
            })?;
            let rt = setup::open(&config).await?;
            print_json(&rt.app.notify_all(&actor, kind).await?)?;
        }
        Command::Retention(RetentionCommand::Run {
            dry_run,
            as_of,
            json,
        }) => {
            let rt = setup::open(&config).await?;
            let as_of = as_of
                .map(|day| end_of_day(rt.app.policy(), &day, "--as-of"))
                .transpose()?;
            let receipt = rt
                .app
                .sweep(
                    &Actor::new("cli", "retention"),
                    vintrova_core::sweep::SweepOptions { as_of, dry_run },
                )
                .await?;
            if !dry_run {
                backup::expire_keys(&config.data_dir, rt.app.now())?;
            }
            if json {
                print_json(&receipt)?;
            } else {
                print_receipt(&receipt);
            }
        }
        Command::Hold(command) => {
            let rt = setup::open(&config).await?;
            match command {
                HoldCommand::Place {
                    reference,
                    subject,
                    categories,
                    until,
                } => {
                    let scope = vintrova_core::holds::HoldScope {
                        subject: subject.as_deref().map(subject_id).transpose()?,
                        categories,
                    };
                    let until = until
                        .map(|day| end_of_day(rt.app.policy(), &day, "--until"))
                        .transpose()?;
                    print_json(&rt.app.place_hold(&actor, scope, &reference, until).await?)?;
                }
                HoldCommand::Release { id } => {
                    let id = id.parse().map_err(|_| {
                        format!("`{id}` is not a hold id; expected a UUID as `hold list` prints")
                    })?;
                    print_json(&rt.app.release_hold(&actor, id).await?)?;
                }
                HoldCommand::List => print_json(&rt.app.holds().await?)?,
            }
        }
        Command::Backup(BackupCommand::Create { out, key_days }) => {
            let rt = setup::open(&config).await?;
            let summary = backup::create(&rt, &out, key_days).await?;
            say!(
                "backup written to {}; restorable until {} (its key is in {})",
                out.display(),
                summary.header.key_expires_at,
                config.data_dir.join(backup::KEYRING).display()
            );
            print_json(&summary)?;
        }
        Command::Backup(BackupCommand::Verify { file }) => {
            print_json(&backup::verify(&config.data_dir, &file)?)?;
        }
        Command::Backup(BackupCommand::Restore { file }) => {
            let restored = backup::restore(&config, &file).await?;
            say!(
                "restored backup {}; {} erasure(s) re-applied, {} value(s) and event(s) swept",
                restored.backup.header.id,
                restored.erasures_reapplied,
                restored.sweep.total_deleted()
            );
            print_json(&restored)?;
        }
        Command::Keys(KeysCommand::Rotate) => {
            let rt = setup::open(&config).await?;
            let (count, next) = setup::rotate_master_key(&rt, &actor).await?;
            say!(
                "rotated: {count} keys re-wrapped under master key v{} in {}.\n\
                 Back that file up now. The v{} key no longer opens this data; keep it only beside backups made before the rotation.",
                next.version,
                rt.config.master_key_path().display(),
                rt.master.version
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The last moment of a calendar day in the policy's time zone.
fn end_of_day(policy: &vintrova_policy::Policy, day: &str, flag: &str) -> Result<jiff::Timestamp> {
    let date: jiff::civil::Date = day
        .parse()
        .map_err(|_| format!("{flag} `{day}` is not a date; expected YYYY-MM-DD"))?;
    let next = date
        .tomorrow()
        .map_err(|_| format!("{flag} `{day}` is out of range"))?;
    let start = next
        .to_zoned_datetime(policy.zone())
        .map_err(|e| format!("{flag} `{day}`: {e}"))?;
    Ok(start.timestamp() - jiff::SignedDuration::from_nanos(1))
}

fn print_receipt(r: &vintrova_core::sweep::SweepReceipt) {
    println!(
        "{} as of {}",
        if r.dry_run {
            "Retention dry run (nothing changed)"
        } else {
            "Retention sweep"
        },
        r.as_of
    );
    println!(
        "{:<14} {:<14} {:>10} {:>10}",
        "rule", "category", "values", "events"
    );
    for c in &r.deleted {
        println!(
            "{:<14} {:<14} {:>10} {:>10}",
            c.rule, c.category, c.values, c.events
        );
    }
    for c in &r.records_deleted {
        println!("{:<14} {:<14} {:>10} records", c.rule, c.kind, c.records);
    }
    for c in &r.held {
        println!(
            "held by a legal hold: {} {} ({} values, {} events)",
            c.rule, c.category, c.values, c.events
        );
    }
    println!(
        "key classes emptied {}, people removed {}, accounts warned {}, closed {}, audit entries pruned {}",
        r.key_classes_emptied,
        r.subjects_removed,
        r.accounts_warned,
        r.accounts_closed,
        r.audit_entries_pruned
    );
    println!(
        "leftovers: sessions {}, password resets {}, downloads {}, messages {}, notices {}",
        r.leftovers.sessions,
        r.leftovers.password_resets,
        r.leftovers.downloads,
        r.leftovers.outbox,
        r.leftovers.notices
    );
}

fn check_policy(file: Option<&std::path::Path>) -> ExitCode {
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

async fn serve(config: &Config, args: ServeArgs) -> Result<()> {
    let rt = setup::open(config).await?;
    let (token, created) = setup::api_token(config)?;
    if created {
        say!(
            "  Created the API token in {} (mode 0600); send it as `Authorization: Bearer <token>`.",
            config.data_dir.join("api-token").display()
        );
    }
    let listener = std::net::TcpListener::bind(&args.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listener.local_addr()?;
    let tls = match (&args.tls_cert, &args.tls_key, args.self_signed) {
        (Some(cert), Some(key), _) => Some(vintrova_web::tls::server_config(
            &std::fs::read(cert).map_err(|e| format!("cannot read {}: {e}", cert.display()))?,
            &std::fs::read(key).map_err(|e| format!("cannot read {}: {e}", key.display()))?,
        )?),
        (_, _, true) => {
            let (cert, key) = setup::self_signed_certificate(config, local)?;
            Some(vintrova_web::tls::server_config(&cert, &key)?)
        }
        _ => None,
    };
    if tls.is_none() && !local.ip().is_loopback() && !args.behind_tls_proxy {
        return Err(format!(
            "refusing plain HTTP on {local}: personal data travels only over TLS (R7.1). Give --tls-cert and --tls-key, or --behind-tls-proxy when a proxy in front terminates TLS"
        )
        .into());
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{local}"));
    // Kazakhstan's law on personal data wants its citizens' data in a primary database inside
    // the country; a declaration elsewhere is allowed to start, loudly.
    if !args
        .storage_country
        .eq_ignore_ascii_case(&rt.app.policy().operator.country)
    {
        say!(
            "  WARNING: the primary database is declared to be in {} (VINTROVA_STORAGE_COUNTRY). The law of {} requires the primary database of personal data inside the country; keep it there and transfer abroad only as the policy allows.",
            args.storage_country,
            rt.app.policy().operator.country
        );
        tracing::warn!(storage_country = %args.storage_country, "the primary database is declared outside the operator's country");
    }
    let operator = Actor::new("system", "first-start");
    if let Some(enrollment) = rt.app.first_administrator(&operator).await? {
        say!("  No administrator has enrolled yet.");
        practice::print_enrollment(&enrollment, &public_url)?;
    }
    say!(
        "Vintrova is serving on {scheme}://{local} ({} backend, policy {}); the API is described at /api/v1/openapi.json, the staff console is at /staff",
        rt.app.backend(),
        rt.app.policy().version
    );
    if tls.is_none() {
        say!(
            "  Plain HTTP: put a TLS-terminating proxy in front, or serve with --tls-cert/--tls-key. Staff cookies are `Secure`; browsers send them over HTTPS or to localhost only."
        );
    }
    let provider = std::sync::Arc::new(setup::dev_provider(config)?);
    let proxies = if args.trusted_proxies.is_empty() {
        vintrova_web::security::TrustedProxies::loopback()
    } else {
        vintrova_web::security::TrustedProxies::new(args.trusted_proxies.clone())
    };
    let state = vintrova_web::AppState::new(rt.app.clone(), &token, provider)
        .with_trusted_proxies(proxies)
        .with_public_url(&public_url);
    spawn_delivery(&rt)?;
    spawn_retention(&rt);
    spawn_audit_check(&rt);
    let router = vintrova_web::router(state);
    match tls {
        Some(config) => {
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown().await;
                stopper.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
            });
            vintrova_web::tls::serve(listener, router, config, handle).await?;
        }
        None => {
            listener.set_nonblocking(true)?;
            let listener = tokio::net::TcpListener::from_std(listener)?;
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown())
            .await?;
        }
    }
    Ok(())
}

/// Verify the audit chain every hour, for the `vintrova_audit_chain_ok` gauge (a break is
/// logged as an error for the operator's alerting), and say when a published policy version
/// is due to be applied.
fn spawn_audit_check(rt: &setup::Runtime) {
    let app = rt.app.clone();
    let holder = lease_holder();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let verified = app.verify_audit().await;
            if let Err(e) = &verified {
                tracing::error!(error = %e, "the audit chain does not verify");
            }
            vintrova_web::metrics::audit_verified(
                verified.is_ok(),
                verified.map(|r| r.entries).unwrap_or(0),
                app.now(),
            );
            // The monthly digest of who looked, for whoever asked (once a month each; one
            // server at a time).
            let actor = Actor::new("system", "digest");
            let digests = app.send_access_digests(&actor);
            match app
                .exclusively(vintrova_core::Vintrova::DIGEST_LEASE, &holder, 60, digests)
                .await
            {
                Ok(Some(n)) if n > 0 => tracing::info!(queued = n, "monthly access digests"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the monthly access digests failed"),
            }
            // A published policy version whose day has come applies from the next start.
            let today = app.now().to_zoned_datetime(app.policy().zone()).date();
            if let Ok(versions) = app.policy_versions().await
                && let Some(due) = versions.iter().rfind(|v| v.effective <= today)
                && due.version != app.policy().version
            {
                tracing::warn!(
                    version = %due.version,
                    "a published policy version is in force from today: restart the server to apply it"
                );
            }
        }
    });
}

/// SMTP when `VINTROVA_SMTP_URL` is set, `.eml` files in `DATA_DIR/mail/` otherwise.
fn mail_transport(rt: &setup::Runtime) -> Result<Box<dyn Transport>> {
    let from = &rt.app.policy().contact.email;
    Ok(match std::env::var("VINTROVA_SMTP_URL") {
        Ok(url) if !url.is_empty() => Box::new(vintrova_mail::SmtpTransport::new(&url, from)?),
        _ => Box::new(vintrova_mail::FileTransport::new(
            rt.config.data_dir.join("mail"),
            from,
        )),
    })
}

/// Deliver the outbox every ten seconds while the server runs. State lives in the database
/// (claims with leases), so several servers may run this side by side.
fn spawn_delivery(rt: &setup::Runtime) -> Result<()> {
    let app = rt.app.clone();
    let transport = mail_transport(rt)?;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
        loop {
            tick.tick().await;
            if let Err(e) = app
                .remind_staff(&vintrova_core::requests::DEFAULT_REMINDERS)
                .await
            {
                tracing::error!(error = %e, "request reminders failed");
            }
            match app.deliver(transport.as_ref(), 100).await {
                Ok(report) if report.sent + report.retried + report.failed > 0 => {
                    tracing::info!(
                        sent = report.sent,
                        retried = report.retried,
                        failed = report.failed,
                        "outbox delivered"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "outbox delivery failed"),
            }
        }
    });
    Ok(())
}

/// This server's name on the leases its jobs take.
fn lease_holder() -> String {
    format!("server-{}", Uuid::now_v7())
}

/// The daily retention sweep. Two leases in the database make it run once a day across all
/// servers (`retention.daily`, taken for 24 hours) and never twice at once (the sweep's own).
fn spawn_retention(rt: &setup::Runtime) {
    let app = rt.app.clone();
    let data_dir = rt.config.data_dir.clone();
    let holder = lease_holder();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            match app
                .claim_lease(
                    "retention.daily",
                    &holder,
                    jiff::SignedDuration::from_hours(24),
                )
                .await
            {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "cannot take the retention lease");
                    continue;
                }
            }
            let actor = Actor::new("system", "retention");
            match app
                .sweep_exclusively(&actor, &holder, Default::default())
                .await
            {
                Ok(Some(receipt)) => {
                    vintrova_web::metrics::sweep_finished(&receipt);
                    if let Err(e) = backup::expire_keys(&data_dir, app.now()) {
                        tracing::error!(error = %e, "cannot expire backup keys");
                    }
                }
                Ok(None) => tracing::info!("another server is sweeping"),
                Err(e) => tracing::error!(error = %e, "the retention sweep failed"),
            }
        }
    });
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
