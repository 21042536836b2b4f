//! The command line. Scripts and operators depend on every name, flag, help text and
//! environment variable here, so it changes only as a contract does.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use jiff::civil::Date;
use vintrova_core::staff::{PaperKind, Role};

use crate::backup;

/// Vintrova: personal data held exactly as the privacy policy says.
#[derive(Parser)]
#[command(version, about)]
pub struct Cli {
    /// Data directory: SQLite files, the master key, the API token.
    #[arg(
        long,
        global = true,
        env = "VINTROVA_DATA_DIR",
        default_value = "./vintrova-data"
    )]
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; SQLite in the data directory when omitted.
    #[arg(long, global = true, env = "VINTROVA_DATABASE_URL")]
    pub database_url: Option<String>,
    /// A policy file to enforce instead of the one shipped with this build.
    #[arg(long, global = true, env = "VINTROVA_POLICY")]
    pub policy: Option<PathBuf>,
    /// Decrees moving days off this year (TOML: `holidays = ["YYYY-MM-DD", …]`,
    /// `workdays = [...]`), on top of Kazakhstan's calendar built in.
    #[arg(long, global = true, env = "VINTROVA_CALENDAR")]
    pub calendar: Option<PathBuf>,
    /// Where the signed head of the audit chain is kept, outside the database
    /// (`DATA_DIR/audit-head` by default; a mount the database's administrators cannot write
    /// is better).
    #[arg(long, global = true, env = "VINTROVA_AUDIT_HEAD")]
    pub audit_head: Option<PathBuf>,
    /// The journal of erasures a restore replays (`DATA_DIR/erasures.journal` by default).
    /// Servers sharing a database must share it too (a network mount), or a restore on one
    /// brings back people erased on another.
    #[arg(long, global = true, env = "VINTROVA_ERASURE_JOURNAL")]
    pub erasure_journal: Option<PathBuf>,
    /// The configuration file (TOML); `DATA_DIR/vintrova.toml` when there is one. Its settings
    /// give way to the environment's, and those to flags.
    #[arg(long, global = true, env = "VINTROVA_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Args)]
pub struct ServeArgs {
    #[arg(long, env = "VINTROVA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// PEM certificate chain to serve HTTPS with (TLS 1.2 and 1.3 only).
    #[arg(long, env = "VINTROVA_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of the certificate.
    #[arg(long, env = "VINTROVA_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// For development: HTTPS with a self-signed certificate kept in the data directory.
    #[arg(long, conflicts_with = "tls_cert")]
    pub self_signed: bool,
    /// Plain HTTP on a non-loopback address, for a TLS-terminating proxy in front.
    #[arg(long, env = "VINTROVA_BEHIND_TLS_PROXY")]
    pub behind_tls_proxy: bool,
    /// Peers whose `X-Forwarded-For` is believed (loopback when none is given).
    #[arg(
        long = "trusted-proxy",
        env = "VINTROVA_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Where staff reach the server, for the enrollment link printed at first start.
    #[arg(long, env = "VINTROVA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The country the primary database is in (ISO 3166 code), as declared by the operator.
    #[arg(long, env = "VINTROVA_STORAGE_COUNTRY", default_value = "KZ")]
    pub storage_country: String,
    /// Keep a copy of the signed audit head here every day (`audit-head-YYYY-MM-DD`): a
    /// directory on another mount the database's administrators cannot write.
    #[arg(long, env = "VINTROVA_WITNESS_DIR")]
    pub witness_dir: Option<PathBuf>,
    /// Mail the signed audit head to the data protection service (the policy's contact
    /// address) every day, through the outbox.
    #[arg(long, env = "VINTROVA_WITNESS_MAIL")]
    pub witness_mail: bool,
    /// How long a webhook receiver may take to answer, in seconds, before the attempt counts
    /// as failed and is retried later.
    #[arg(long, env = "VINTROVA_WEBHOOK_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=120))]
    pub webhook_timeout: u64,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server: the API, the staff console and the background jobs.
    Serve(ServeArgs),
    /// Staff accounts, their roles and paperwork (R7.6, R7.7).
    #[command(subcommand)]
    Staff(StaffCommand),
    /// The incident register (R7.9).
    #[command(subcommand)]
    Incident(IncidentCommand),
    /// Security audits and risk assessments (R7.8).
    #[command(subcommand)]
    Assessment(AssessmentCommand),
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
    /// The configuration in force: file, environment and flags merged.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Webhooks to the platform (Standard Webhooks signatures).
    #[command(subcommand)]
    Webhook(WebhookCommand),
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
    /// Letters from the data protection service's mailbox, waiting to be classified.
    #[command(subcommand)]
    Inbox(InboxCommand),
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

impl Command {
    /// Commands that only read an installation: they refuse a data directory that does not
    /// exist instead of creating a new one.
    pub fn only_reads(&self) -> bool {
        matches!(
            self,
            Command::Audit(AuditCommand::Verify { .. } | AuditCommand::Head)
                | Command::Backup(BackupCommand::Verify { .. })
                | Command::Subject(
                    SubjectCommand::Export { .. }
                        | SubjectCommand::Show { .. }
                        | SubjectCommand::Find { .. }
                )
        )
    }
}

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Check a received webhook as its receiver would: the body on stdin, the three headers as
    /// flags, the secret from a file or `VINTROVA_WEBHOOK_SECRET` (never an argument, which
    /// other users of the machine can see). Exit 0 when it is ours and fresh, 4 when not.
    Verify {
        /// The `webhook-id` header.
        #[arg(long)]
        id: String,
        /// The `webhook-timestamp` header (seconds since 1970).
        #[arg(long)]
        timestamp: String,
        /// The `webhook-signature` header (`v1,…`, several space-separated).
        #[arg(long)]
        signature: String,
        /// A file holding a `whsec_…` secret; repeat for the old and the new during rotation.
        #[arg(long = "secret-file")]
        secret_files: Vec<PathBuf>,
    },
    /// Subscribe an endpoint of the platform to events; prints its id and its signing secret,
    /// this once (or writes the secret to --secret-file, readable by its owner only).
    Add {
        /// `https://…` (or `http://` on a private network).
        #[arg(long)]
        url: String,
        /// The event kinds it wants, comma-separated (`consent.withdrawn,subject.erased`);
        /// without, every kind.
        #[arg(long, value_delimiter = ',')]
        kinds: Vec<String>,
        #[arg(long = "secret-file")]
        secret_file: Option<PathBuf>,
    },
    /// The endpoints, their kinds, whether they fail, and what waits for them.
    List,
    /// Stop telling an endpoint; what waited for it is dropped.
    Remove { id: String },
    /// A new signing secret; the old one signs beside it for a day.
    Rotate {
        id: String,
        #[arg(long = "secret-file")]
        secret_file: Option<PathBuf>,
    },
    /// Enable an endpoint disabled for failing: what it missed goes, in order.
    Enable { id: String },
    /// The latest deliveries to an endpoint: each event, its attempts, the receiver's answer.
    Deliveries {
        id: String,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Deliver what is due now (`serve` does this every five seconds).
    Deliver {
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=120))]
        timeout: u64,
    },
}

#[derive(Subcommand)]
pub enum InboxCommand {
    /// Read the mailbox once now (`serve` does this every 30 s when `imap.url` is set).
    Read,
    /// The letters waiting: arrival, language, the day their 30 days end (never who or what).
    List,
    /// Open a letter to classify it: sender, subject, text (an audited read).
    Show { id: String },
    /// The letter asks for a right: a code goes to its sender, as for a letter entered by hand.
    Classify {
        id: String,
        /// information, access, rectification, erasure, restriction, consent_withdrawal,
        /// marketing_objection
        #[arg(long)]
        right: String,
    },
    /// The letter asks for nothing Vintrova answers; it leaves the inbox.
    Dismiss { id: String },
}

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Print the settings in force (secrets masked) and every problem with its key; exit 1 when
    /// there is one.
    Check,
}

#[derive(Subcommand)]
pub enum RetentionCommand {
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
pub enum HoldCommand {
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
pub enum BackupCommand {
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
pub enum AccountCommand {
    /// Close an account: every session ends, and the contract with it.
    Close { id: String },
}

#[derive(Subcommand)]
pub enum CatalogCommand {
    /// Print the catalog as JSON.
    List,
    /// Add or replace an offering from JSON `{"id", "kind", "level", "title_ru", "title_kk", "title_en"}`.
    Add {
        #[arg(long)]
        json: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum EnrollmentCommand {
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
pub enum TicketCommand {
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
pub enum OrderCommand {
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
pub enum RequestCommand {
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
        /// When the letter arrived, if before now (RFC 3339, e.g. 2026-11-27T09:30:00+05:00):
        /// the 30 days count from it.
        #[arg(long)]
        received: Option<String>,
        /// The language the letter was written in (ru, kk, en): the code, the answer and every
        /// later message to its writer go in it.
        #[arg(long)]
        language: Option<String>,
    },
    /// The letters still waiting for their code: right, arrival, deadline (no address).
    Letters,
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
pub enum OutboxCommand {
    /// Deliver what is due now (to `DATA_DIR/mail/` as .eml files); `serve` does this every 10 s.
    Deliver,
    /// How many messages are in each state.
    Status,
}

#[derive(Subcommand)]
pub enum DemoCommand {
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
pub enum SubjectCommand {
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
    /// access request, which `--request` names (a copy without one is refused). Grouped by
    /// category (format `vintrova.copy/2`); `--shape values` prints every value with its
    /// category's terms beside it, as before.
    Export {
        id: String,
        /// The person's verified access, information or rectification request.
        #[arg(long)]
        request: Option<String>,
        /// `grouped` (default) or `values`.
        #[arg(long, default_value = "grouped", value_parser = ["grouped", "values"])]
        shape: String,
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
pub enum AuditCommand {
    /// Verify the whole hash chain; exit 0 when intact, 4 naming the first bad entry.
    Verify {
        /// A signed head a witness kept (`audit head` printed it): the log must still reach it,
        /// or have been pruned past it. Repeatable.
        #[arg(long = "witness")]
        witnesses: Vec<PathBuf>,
    },
    /// Print the signed head of the audit chain, for a witness to keep apart from this server.
    Head,
    /// Accept, on the record, that the log lost its tail (the server refuses personal data
    /// until then): the anchors move back to the tail that is there, and an entry keeps what
    /// was found and why. Exit 1 when there is nothing to accept.
    Accept {
        /// What was found and why it is accepted — no one's personal data.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
pub enum ReceiptCommand {
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
pub enum PolicyCommand {
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
        effective: Date,
    },
    /// Tell everyone not yet told of a published version (resumes a cut-short run).
    Announce { version: String },
    /// Every published version, oldest first.
    List,
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Re-wrap every data key under a new master key; the data is not touched.
    Rotate,
}

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
