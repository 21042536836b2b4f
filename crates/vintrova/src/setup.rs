//! Wiring: the data directory, the policy, the backend the URL names, the master key and the
//! vault — opened once, the same way for every command.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use vintrova_core::Vintrova;
use vintrova_core::clock::{Clock, SystemClock};
use vintrova_core::store::Store;
use vintrova_core::workdays::WorkCalendar;
use vintrova_policy::Policy;
use vintrova_vault::{HeadFile, KeyStore, MasterKey, Vault};

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

/// The policy shipped with this build; `--policy FILE` replaces it.
pub const SHIPPED_POLICY: &str = include_str!("../../../policy/vintrova.toml");

const MASTER_KEY: &str = "master.key";
const MASTER_KEY_NEXT: &str = "master.key.next";
const API_TOKEN: &str = "api-token";
const AUDIT_HEAD: &str = "audit-head";

/// Where things are, from the command line and environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub policy_file: Option<PathBuf>,
    pub calendar_file: Option<PathBuf>,
    pub audit_head: Option<PathBuf>,
    /// Where the journal of erasures is kept, when not in the data directory.
    pub erasure_journal: Option<PathBuf>,
    pub mail: Mail,
}

/// The mail servers: where the outbox goes, and the mailbox read as an intake.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    /// `smtp://…`; without, mail is kept as `.eml` files in the data directory.
    pub smtp_url: Option<String>,
    /// `imaps://…`; without, no mailbox is read.
    pub imap_url: Option<String>,
    /// A private CA for the IMAP server's certificate.
    pub imap_ca: Option<PathBuf>,
}

impl Config {
    pub fn master_key_path(&self) -> PathBuf {
        self.data_dir.join(MASTER_KEY)
    }

    pub fn audit_head_path(&self) -> PathBuf {
        self.audit_head
            .clone()
            .unwrap_or_else(|| self.data_dir.join(AUDIT_HEAD))
    }

    pub fn erasure_journal_path(&self) -> PathBuf {
        self.erasure_journal
            .clone()
            .unwrap_or_else(|| self.data_dir.join(crate::backup::JOURNAL))
    }

    fn next_key_path(&self) -> PathBuf {
        self.data_dir.join(MASTER_KEY_NEXT)
    }

    fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("vintrova.db").display()))
    }

    /// The SQLite data file and key store file, when the backend is SQLite.
    pub fn sqlite_files(&self) -> Option<(PathBuf, PathBuf)> {
        let url = self.database_url();
        let path = url
            .strip_prefix("sqlite://")
            .or(url.strip_prefix("sqlite:"))?;
        let path = path.split('?').next().unwrap_or(path);
        Some((PathBuf::from(path), self.data_dir.join("keys.db")))
    }
}

/// The backend opened, by kind: backups need what only the backend itself can do.
#[derive(Clone)]
pub enum Backend {
    Sqlite(
        vintrova_store_sql::sqlite::SqliteStore,
        vintrova_store_sql::sqlite::SqliteKeyStore,
    ),
    Postgres(vintrova_store_sql::postgres::PgStore),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(..) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// Read and validate a policy: the shipped one, or `file`.
pub fn load_policy(file: Option<&Path>) -> Result<Policy> {
    Ok(vintrova_policy::load(&policy_text(file)?)?)
}

/// The policy file's text as written, or the shipped one's.
pub fn policy_text(file: Option<&Path>) -> Result<String> {
    Ok(match file {
        Some(path) => fs::read_to_string(path)
            .map_err(|e| format!("cannot read the policy file {}: {e}", path.display()))?,
        None => SHIPPED_POLICY.to_string(),
    })
}

/// Everything opened: the services, and what the key commands need besides.
pub struct Runtime {
    pub app: Arc<Vintrova>,
    /// The vault the core holds too: for the secrets every server shares.
    pub vault: Arc<Vault>,
    pub master: MasterKey,
    pub config: Config,
    pub backend: Backend,
}

fn ensure_data_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create the data directory {}: {e}", dir.display()))?;
    }
    tighten(dir)
}

/// The data directory holds keys and personal data: only its owner may enter it, and only its
/// owner read what is in it. A looser directory or file is tightened, with a warning; one that
/// cannot be is refused. Every start looks at the directory and what lies directly in it (the
/// databases, keys, head, journal); a subdirectory's files (mail, TLS) only when it was loose
/// itself, as directories made before the owner-only rule are — so a start does not read
/// every mail file.
fn tighten(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut looser = vec![];
    let mut paths = vec![(dir.to_path_buf(), true)];
    while let Some((path, open_it)) = paths.pop() {
        let meta = fs::symlink_metadata(&path)?;
        if meta.is_symlink() {
            continue;
        }
        let wanted = if meta.is_dir() { 0o700 } else { 0o600 };
        let loose = meta.permissions().mode() & 0o077 != 0;
        if loose {
            fs::set_permissions(&path, fs::Permissions::from_mode(wanted)).map_err(|e| {
                format!(
                    "{} is open to other users and cannot be tightened ({e}); make it mode {wanted:o} yourself",
                    path.display()
                )
            })?;
            looser.push(path.clone());
        }
        // The data directory is always opened; below it, a directory only when it was loose.
        if meta.is_dir() && (open_it || loose) {
            for entry in fs::read_dir(&path)? {
                paths.push((entry?.path(), false));
            }
        }
    }
    if !looser.is_empty() {
        say!(
            "  WARNING: {} path(s) in the data directory were readable by other users and are now owner-only (first: {}).",
            looser.len(),
            looser[0].display()
        );
    }
    Ok(())
}

/// Held (shared) by every `serve` on this data directory while it runs; a restore takes it
/// exclusively, so it never replaces data under a running server.
pub const SERVING_LOCK: &str = "serving.lock";

/// The serving lock: `exclusive` for a restore, shared for a server. `Err` names who holds it.
pub fn serving_lock(dir: &Path, exclusive: bool) -> Result<fs::File> {
    ensure_data_dir(dir)?;
    let path = dir.join(SERVING_LOCK);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("cannot open the serving lock {}: {e}", path.display()))?;
    let taken = if exclusive {
        file.try_lock()
    } else {
        file.try_lock_shared()
    };
    match taken {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) if exclusive => Err(format!(
            "a server is running on {} (it holds {}): stop every `vintrova serve` on this data before a restore, which would replace the data under it",
            dir.display(),
            path.display()
        )
        .into()),
        Err(fs::TryLockError::WouldBlock) => Err(format!(
            "a restore is running on {} (it holds {}); start the server when it has finished",
            dir.display(),
            path.display()
        )
        .into()),
        Err(fs::TryLockError::Error(e)) => {
            Err(format!("cannot take the serving lock {}: {e}", path.display()).into())
        }
    }
}

/// The serving lock in the database itself, where the database is shared (PostgreSQL):
/// servers on other machines hold it too. `exclusive` for a restore.
pub async fn database_serving_lock(
    backend: &Backend,
    exclusive: bool,
) -> Result<Option<vintrova_store_sql::postgres::ServingLock>> {
    let Backend::Postgres(store) = backend else {
        return Ok(None);
    };
    match vintrova_store_sql::postgres::serving_lock(store, exclusive).await? {
        Some(lock) => Ok(Some(lock)),
        None if exclusive => Err(
            "a server is running on this database (it holds the serving lock): stop every `vintrova serve` using it, on every machine, before a restore replaces the data under it"
                .into(),
        ),
        None => Err(
            "a restore is running on this database (it holds the serving lock); start the server when it has finished"
                .into(),
        ),
    }
}

type Opened = (Arc<dyn Store>, Arc<dyn KeyStore>, Backend);

pub async fn open_backend(config: &Config) -> Result<Opened> {
    let url = config.database_url();
    if url.starts_with("sqlite:") {
        let (store, keys) =
            vintrova_store_sql::sqlite::open(&url, &config.data_dir.join("keys.db")).await?;
        let backend = Backend::Sqlite(store.clone(), keys.clone());
        Ok((Arc::new(store), Arc::new(keys), backend))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let (store, keys) = vintrova_store_sql::postgres::open(&url).await?;
        let backend = Backend::Postgres(store.clone());
        Ok((Arc::new(store), Arc::new(keys), backend))
    } else {
        Err("--database-url must start with sqlite:// or postgres://".into())
    }
}

/// The master key to open the key store with: finish or roll back an interrupted rotation,
/// load the key file, or — on a brand new installation only — create it.
async fn settle_master_key(config: &Config, keys: &dyn KeyStore) -> Result<MasterKey> {
    let current = config.master_key_path();
    let next = config.next_key_path();
    let system = keys.system_keys().await?;
    if next.exists() {
        let pending = MasterKey::load(&next)?;
        if system
            .first()
            .is_some_and(|k| k.kek_version == pending.version)
        {
            // The key store was re-wrapped under the new key before the switch was cut short.
            fs::rename(&next, &current)?;
        } else {
            fs::remove_file(&next)?;
        }
    }
    if current.exists() {
        return Ok(MasterKey::load(&current)?);
    }
    if !system.is_empty() {
        return Err(format!(
            "the master key file {} is missing, but this data was encrypted under one; restore it from your backup (without it the data cannot be read)",
            current.display()
        )
        .into());
    }
    let key = MasterKey::generate(1);
    key.write_new(&current)?;
    say!(
        "\n  Vintrova created a new master key: {path}  (mode 0600)\n\
         \n  Every personal datum Vintrova stores is encrypted under this key. Without it the data\n\
         \x20 cannot be read by anyone, you included. Back it up now to a place other than this\n\
         \x20 server's disk (an offline medium or a secrets manager), and keep it apart from the\n\
         \x20 database backups: a backup and its key in one place protect nothing.\n",
        path = current.display()
    );
    Ok(key)
}

/// Open everything for a command.
pub async fn open(config: &Config) -> Result<Runtime> {
    open_with_clock(config, Arc::new(SystemClock)).await
}

/// Written (synced) before a restore puts anything in place, removed once the restored state
/// is ready: every erasure since the backup applied again and the sweep run. While it is
/// there, nothing opens the data but the restore.
pub const RESTORE_UNDERWAY: &str = "restore-underway";

/// Open everything with a given clock (the demo seeder walks one through past years).
pub async fn open_with_clock(config: &Config, clock: Arc<dyn Clock>) -> Result<Runtime> {
    if let Ok(what) = fs::read_to_string(config.data_dir.join(RESTORE_UNDERWAY)) {
        return Err(format!(
            "a restore was interrupted ({}): the data in place may hold people erased since the backup, so nothing is served or changed until the restore is run again: `vintrova backup restore` with the same backup file",
            what.trim()
        )
        .into());
    }
    open_unchecked(config, clock).await
}

/// Open everything, even half-restored data: for the restore itself.
pub async fn open_unchecked(config: &Config, clock: Arc<dyn Clock>) -> Result<Runtime> {
    ensure_data_dir(&config.data_dir)?;
    let policy = Arc::new(load_policy(config.policy_file.as_deref())?);
    let (store, keys, backend) = open_backend(config).await?;
    let master = settle_master_key(config, keys.as_ref()).await?;
    let vault = Arc::new(
        Vault::open(master.clone(), keys)
            .await?
            .with_head_file(HeadFile::at(config.audit_head_path())),
    );
    let journal = Arc::new(crate::backup::FileJournal::new(
        config.erasure_journal_path(),
    ));
    let app = Vintrova::new(policy, store, vault.clone(), clock)?
        .with_erasure_journal(journal)
        .with_calendar(load_calendar(config.calendar_file.as_deref())?)
        .with_published_policy()
        .await?;
    Ok(Runtime {
        app: Arc::new(app),
        vault,
        master,
        config: config.clone(),
        backend,
    })
}

/// The development certificate: made once with rcgen for localhost and the listening
/// address, kept in `DATA_DIR/tls/` so browsers can be told to trust it once.
pub fn self_signed_certificate(
    config: &Config,
    local: std::net::SocketAddr,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let dir = config.data_dir.join("tls");
    let (cert, key) = (dir.join("self-signed.crt"), dir.join("self-signed.key"));
    if !cert.exists() || !key.exists() {
        fs::create_dir_all(&dir)?;
        let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        if !local.ip().is_unspecified() {
            names.push(local.ip().to_string());
        }
        let (cert_pem, key_pem) = vintrova_web::tls::self_signed(&names)?;
        fs::write(&cert, cert_pem)?;
        write_secret(&key, key_pem.as_bytes())?;
        say!(
            "  Made a self-signed certificate for development: {} (browsers will warn; never use it in production)",
            cert.display()
        );
    }
    Ok((fs::read(&cert)?, fs::read(&key)?))
}

/// Kazakhstan's working-day calendar with this year's decrees from `file`.
pub fn load_calendar(file: Option<&Path>) -> Result<WorkCalendar> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Decrees {
        #[serde(default)]
        holidays: Vec<jiff::civil::Date>,
        #[serde(default)]
        workdays: Vec<jiff::civil::Date>,
    }
    let calendar = WorkCalendar::kazakhstan();
    let Some(file) = file else {
        return Ok(calendar);
    };
    let text = fs::read_to_string(file)
        .map_err(|e| format!("cannot read the calendar {}: {e}", file.display()))?;
    let decrees: Decrees = toml::from_str(&text).map_err(|e| {
        format!(
            "the calendar {} is not valid: {e}; expected `holidays = [\"YYYY-MM-DD\"]` and `workdays = [...]`",
            file.display()
        )
    })?;
    Ok(calendar
        .with_holidays(decrees.holidays)
        .with_workdays(decrees.workdays))
}

/// Re-wrap every key under a new master key. The new key is on disk before the key store
/// changes, and replaces the old file only after, so a crash at any point leaves a key that
/// opens the store (see `settle_master_key`).
pub async fn rotate_master_key(
    runtime: &Runtime,
    actor: &vintrova_core::Actor,
) -> Result<(usize, MasterKey)> {
    let next_path = runtime.config.next_key_path();
    let next = runtime.master.successor();
    next.write_new(&next_path)?;
    let count = runtime.app.rotate_master_key(actor, &next).await?;
    fs::rename(&next_path, runtime.config.master_key_path())?;
    Ok((count, next))
}

/// Write a new file only its owner may read (mode 0600).
pub fn write_secret(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    std::io::Write::write_all(&mut file, bytes)?;
    Ok(())
}

/// A secret every server shares (the API token, the payment provider's), from the vault; the
/// file `name` in the data directory keeps a copy for the operator to read, written when it is
/// missing or differs. A file an earlier version made is taken into the vault the first time,
/// so the platform's token stays what it was. Returns it and whether the file was written now.
async fn shared_secret(rt: &Runtime, name: &str) -> Result<(String, bool)> {
    let path = rt.config.data_dir.join(name);
    let on_disk = fs::read_to_string(&path).ok().map(|s| s.trim().to_string());
    let existing = on_disk
        .as_deref()
        .and_then(|s| hex::decode(s).ok())
        .and_then(|b| b.try_into().ok());
    let secret = hex::encode(rt.vault.shared_secret(name, existing).await?);
    if on_disk.as_deref() == Some(secret.as_str()) {
        return Ok((secret, false));
    }
    if on_disk.is_some() {
        say!(
            "  WARNING: {} held a secret of this server alone; it now holds the one every server of this installation shares.",
            path.display()
        );
        fs::remove_file(&path)?;
    }
    write_secret(&path, format!("{secret}\n").as_bytes())?;
    Ok((secret, true))
}

/// The API token, the same on every server of the installation.
pub async fn api_token(rt: &Runtime) -> Result<(String, bool)> {
    shared_secret(rt, API_TOKEN).await
}

/// The built-in payment provider's signing secret, the same on every server, so a callback
/// signed for one is accepted by any.
pub async fn dev_provider(rt: &Runtime) -> Result<vintrova_core::payments::DevProvider> {
    let (secret, _) = shared_secret(rt, "payment-provider.secret").await?;
    let bytes: [u8; 32] = hex::decode(&secret)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("the payment provider's secret does not decode")?;
    Ok(vintrova_core::payments::DevProvider::new(bytes))
}

/// The mailbox read as an intake, when `imap.url` (`VINTROVA_IMAP_URL`) is set.
pub fn mailbox(config: &Config) -> Result<Option<crate::mailbox::Mailbox>> {
    let mail = &config.mail;
    Ok(match &mail.imap_url {
        Some(url) => Some(crate::mailbox::Mailbox::new(url, mail.imap_ca.as_deref())?),
        None => None,
    })
}

/// SMTP when `smtp.url` (`VINTROVA_SMTP_URL`) is set, `.eml` files in `DATA_DIR/mail/` otherwise.
pub fn mail_transport(rt: &Runtime) -> Result<Box<dyn vintrova_core::outbox::Transport>> {
    let from = &rt.app.policy().contact.email;
    Ok(match &rt.config.mail.smtp_url {
        Some(url) => Box::new(vintrova_mail::SmtpTransport::new(url, from)?),
        None => Box::new(vintrova_mail::FileTransport::new(
            rt.config.data_dir.join("mail"),
            from,
        )),
    })
}
