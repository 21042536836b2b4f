//! The one story suite both storage backends must pass.
//!
//! Lives here: a harness that builds the whole core (policy, vault, store, clock) over SQLite
//! or over a fresh PostgreSQL database, with raw access to the database for the tests that
//! play the attacker; and the stories themselves. `tests/stories.rs` runs every story on both
//! backends in the same `cargo test`. PostgreSQL is never skipped: when it is unreachable the
//! PostgreSQL half fails, saying where it looked.

pub mod disclosures;
pub mod doors;
pub mod receipts;
pub mod receiver;
pub mod retention;
pub mod servers;
pub mod staff;
pub mod stories;

use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;
use vintrova_core::accounts::PasswordCost;
use vintrova_core::audit::{AuditDraft, ChainSealer};
use vintrova_core::clock::{Clock, ManualClock};
use vintrova_core::requests::{AnswerChannel, Request, RequestState};
use vintrova_core::rights::RightKind;
use vintrova_core::store::Store;
use vintrova_core::{Actor, CoreError, Export, Vintrova};
use vintrova_policy::Policy;
use vintrova_vault::{HeadFile, KeyStore, MasterKey, Vault};

/// Where the PostgreSQL half of the suite connects to create its fresh databases.
pub const POSTGRES_ENV: &str = "VINTROVA_TEST_POSTGRES_URL";
pub const POSTGRES_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn shipped_policy() -> Arc<Policy> {
    Arc::new(
        vintrova_policy::load(include_str!("../../../policy/vintrova.toml"))
            .expect("the shipped policy loads"),
    )
}

/// The consents a form asks with these values, all ticked, plus `purposes`: what a person gives
/// who fills every box — the consents of the categories on consent and of the confidential
/// fields the values touch (R2.3, R3.2).
pub fn ticked(
    policy: &Policy,
    values: &[vintrova_core::values::FieldValue],
    purposes: Vec<String>,
) -> Vec<String> {
    let mut out = purposes;
    out.extend(policy.consents_needed(values.iter().map(|v| v.field.as_str())));
    out.sort();
    out.dedup();
    out
}

enum Raw {
    Sqlite {
        data: sqlx::SqlitePool,
        keys: sqlx::SqlitePool,
        dir: tempfile::TempDir,
    },
    Postgres {
        pool: sqlx::PgPool,
        admin_url: String,
        database: String,
    },
}

/// A backend's pool, for work that bypasses the core on purpose.
pub enum RawPool<'a> {
    Sqlite(&'a sqlx::SqlitePool),
    Postgres(&'a sqlx::PgPool),
}

/// The core over one backend, with the attacker's raw access to its database.
pub struct Harness {
    pub app: Arc<Vintrova>,
    pub clock: Arc<ManualClock>,
    pub master: MasterKey,
    store: Arc<dyn Store>,
    vault: Arc<Vault>,
    keys: Arc<dyn KeyStore>,
    raw: Raw,
    /// Where the signed audit head is kept, outside the database.
    outside: tempfile::TempDir,
}

/// 2025-03-01 09:00 in Almaty: the suite's day one.
pub fn day_one() -> Timestamp {
    "2025-03-01T04:00:00Z".parse().expect("a valid timestamp")
}

impl Harness {
    pub async fn sqlite() -> Harness {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("vintrova.db").display());
        let (store, keys) = vintrova_store_sql::sqlite::open(&url, &dir.path().join("keys.db"))
            .await
            .expect("SQLite opens");
        let raw = Raw::Sqlite {
            data: store.pool().clone(),
            keys: keys.pool().clone(),
            dir,
        };
        Self::build(Arc::new(store), Arc::new(keys), raw).await
    }

    pub async fn postgres() -> Harness {
        let admin_url =
            std::env::var(POSTGRES_ENV).unwrap_or_else(|_| POSTGRES_DEFAULT.to_string());
        let admin = sqlx::PgPool::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is required by the test suite and is unreachable at {admin_url} ({e}). \
                 Start it (see README) or point {POSTGRES_ENV} at a server where we may create databases."
            )
        });
        let database = format!("vintrova_test_{}", uuid::Uuid::now_v7().simple());
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&admin)
            .await
            .expect("a fresh test database");
        admin.close().await;
        let url = with_database(&admin_url, &database);
        let (store, keys) = vintrova_store_sql::postgres::open(&url)
            .await
            .expect("PostgreSQL opens");
        let raw = Raw::Postgres {
            pool: store.pool().clone(),
            admin_url,
            database,
        };
        Self::build(Arc::new(store), Arc::new(keys), raw).await
    }

    async fn build(store: Arc<dyn Store>, keys: Arc<dyn KeyStore>, raw: Raw) -> Harness {
        let master = MasterKey::generate(1);
        let clock = Arc::new(ManualClock::starting_at(day_one()));
        let outside = tempfile::tempdir().expect("a temporary directory");
        let vault = Vault::open(master.clone(), keys.clone())
            .await
            .expect("a fresh vault opens")
            .with_head_file(HeadFile::at(outside.path().join("audit-head")));
        let vault = Arc::new(vault);
        let app = Vintrova::new(
            shipped_policy(),
            store.clone(),
            vault.clone(),
            clock.clone(),
        )
        .expect("the shipped policy holds every name the code relies on")
        .with_password_cost(PasswordCost::TEST);
        Harness {
            app: Arc::new(app),
            clock,
            master,
            store,
            vault,
            keys,
            raw,
            outside,
        }
    }

    /// The store under the core, as someone with the database would reach it: for tests that
    /// inspect or attack what is stored.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The vault under the core, with the keys: for tests that inspect what is sealed.
    pub fn vault(&self) -> &Arc<Vault> {
        &self.vault
    }

    /// The vault as another server opens it: the same key store, under `master`.
    pub async fn vault_of_another_server(&self, master: MasterKey) -> Result<Vault, CoreError> {
        Ok(Vault::open(master, self.keys.clone()).await?)
    }

    /// A verified request of `right` from `subject`, as the person files it signed in (the
    /// session is the verification), written through the store port the cabinet writes with.
    pub async fn verified_request(
        &self,
        subject: Uuid,
        right: RightKind,
    ) -> Result<Uuid, CoreError> {
        let now = self.clock.now();
        let clock = vintrova_core::rights::deadline(now, &self.app.policy().zone());
        let request = Request {
            id: Uuid::now_v7(),
            subject,
            right,
            state: RequestState::Verified,
            channel: AnswerChannel::Cabinet,
            received_at: now,
            due_on: clock.due_on,
            overdue_from: clock.overdue_from,
            closed_at: None,
        };
        let audit = self.draft("receive_request", subject);
        let head = self
            .store
            .insert_request(&request, &[], None, None, &audit, &self.sealer())
            .await?;
        self.vault.anchor(head.0, &head.1).await?;
        Ok(request.id)
    }

    /// The person's full copy, as the answer to an access request of theirs that is verified
    /// for it and closed after: the only way anyone but the person gets one.
    pub async fn copy(&self, subject: Uuid) -> Result<Export, CoreError> {
        self.copy_with(&self.app, subject).await
    }

    /// [`Harness::copy`] through another instance of the core over the same data.
    pub async fn copy_with(&self, app: &Vintrova, subject: Uuid) -> Result<Export, CoreError> {
        let request = self.verified_request(subject, RightKind::Access).await?;
        let copy = app
            .copy_for_request(&Actor::new("test", "dpo"), subject, Some(request))
            .await?;
        let closed = Request {
            state: RequestState::Completed,
            closed_at: Some(self.clock.now()),
            ..self
                .store
                .request(request)
                .await?
                .expect("the request just filed")
        };
        let audit = self.draft("close_request", subject);
        let head = self
            .store
            .update_request(&closed, &[], None, &audit, &self.sealer())
            .await?;
        self.vault.anchor(head.0, &head.1).await?;
        Ok(copy.per_value())
    }

    fn draft(&self, action: &str, subject: Uuid) -> AuditDraft {
        AuditDraft {
            at: self.clock.now(),
            actor: "test:dpo".into(),
            action: action.into(),
            subject: Some(subject),
            categories: vec![],
            purpose: None,
            stated_purpose: None,
            event: None,
        }
    }

    fn sealer(&self) -> ChainSealer<'_> {
        ChainSealer::new(self.vault.chain())
    }

    /// Move the key store's audit anchor back to (seq, hash), as someone who can write the
    /// whole database (on PostgreSQL the key store is a schema of it) could.
    pub async fn rewind_key_store_anchor(&self, seq: i64, hash: &[u8]) {
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        match &self.raw {
            Raw::Sqlite { keys, .. } => sqlx::raw_sql(AssertSqlSafe(format!(
                "UPDATE chain_anchor SET seq = {seq}, hash = X'{hex}' WHERE id = 1"
            )))
            .execute(keys)
            .await
            .map(|_| ()),
            Raw::Postgres { pool, .. } => sqlx::raw_sql(AssertSqlSafe(format!(
                "UPDATE vault.chain_anchor SET seq = {seq}, hash = '\\x{hex}'::bytea WHERE id = 1"
            )))
            .execute(pool)
            .await
            .map(|_| ()),
        }
        .expect("the anchor is rewound");
    }

    /// Write a checkpoint (seq, hash) straight into the key store, unsigned, as someone hiding
    /// a deleted prefix of the log would.
    pub async fn forge_checkpoint(&self, seq: i64, hash: &[u8]) {
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        match &self.raw {
            Raw::Sqlite { keys, .. } => sqlx::raw_sql(AssertSqlSafe(format!(
                "INSERT INTO chain_checkpoint (id, seq, hash) VALUES (1, {seq}, X'{hex}')
                 ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, pruned_at = NULL, signature = NULL"
            )))
            .execute(keys)
            .await
            .map(|_| ()),
            Raw::Postgres { pool, .. } => sqlx::raw_sql(AssertSqlSafe(format!(
                "INSERT INTO vault.chain_checkpoint (id, seq, hash) VALUES (1, {seq}, '\\x{hex}'::bytea)
                 ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, pruned_at = NULL, signature = NULL"
            )))
            .execute(pool)
            .await
            .map(|_| ()),
        }
        .expect("the checkpoint is forged");
    }

    /// The signed audit head outside the database.
    pub fn head_file(&self) -> std::path::PathBuf {
        self.outside.path().join("audit-head")
    }

    /// The same data opened again with `master`, as a restarted server would.
    pub async fn reopen(&self, master: MasterKey) -> Result<Vintrova, CoreError> {
        let vault = Vault::open(master, self.keys.clone()).await?;
        Ok(Vintrova::new(
            shipped_policy(),
            self.store.clone(),
            Arc::new(vault),
            self.clock.clone(),
        )?
        .with_password_cost(PasswordCost::TEST))
    }

    /// The data store's own connection pool, for baselines and tampering.
    pub fn raw_pool(&self) -> RawPool<'_> {
        match &self.raw {
            Raw::Sqlite { data, .. } => RawPool::Sqlite(data),
            Raw::Postgres { pool, .. } => RawPool::Postgres(pool),
        }
    }

    /// The data store's file, when it runs on SQLite.
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        match &self.raw {
            Raw::Sqlite { dir, .. } => Some(dir.path().join("vintrova.db")),
            Raw::Postgres { .. } => None,
        }
    }

    /// The URL of this harness's PostgreSQL database, when it runs on one.
    pub fn postgres_url(&self) -> Option<String> {
        match &self.raw {
            Raw::Sqlite { .. } => None,
            Raw::Postgres {
                admin_url,
                database,
                ..
            } => Some(with_database(admin_url, database)),
        }
    }

    /// A count straight from the data store: `sql` selects one number, `$1` is `id`.
    pub async fn count(&self, sql: &str, id: Uuid) -> i64 {
        let sql = AssertSqlSafe(sql.to_string());
        match &self.raw {
            Raw::Sqlite { data, .. } => sqlx::query_scalar(sql).bind(id).fetch_one(data).await,
            Raw::Postgres { pool, .. } => sqlx::query_scalar(sql).bind(id).fetch_one(pool).await,
        }
        .expect("the count runs")
    }

    /// Run SQL straight on the data store, as someone with the database file would.
    pub async fn tamper(&self, sql: &str) {
        let sql = AssertSqlSafe(sql.to_string());
        match &self.raw {
            Raw::Sqlite { data, .. } => sqlx::raw_sql(sql).execute(data).await.map(|_| ()),
            Raw::Postgres { pool, .. } => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()),
        }
        .expect("tampering SQL runs");
    }

    /// Every byte the backend holds for us: on SQLite the files themselves (database, WAL,
    /// shared memory, key store); on PostgreSQL every column of every row of both schemas.
    pub async fn every_stored_byte(&self) -> Vec<u8> {
        match &self.raw {
            Raw::Sqlite { dir, .. } => read_tree(dir.path()),
            Raw::Postgres { pool, .. } => {
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT table_schema || '.' || table_name FROM information_schema.tables
                     WHERE table_schema IN (current_schema(), 'vault')",
                )
                .fetch_all(pool)
                .await
                .expect("list tables");
                let mut out = Vec::new();
                for table in tables {
                    let rows = sqlx::query(AssertSqlSafe(format!("SELECT * FROM {table}")))
                        .fetch_all(pool)
                        .await
                        .expect("read a table");
                    for row in rows {
                        for i in 0..row.columns().len() {
                            if let Ok(Some(bytes)) = row.try_get::<Option<Vec<u8>>, _>(i) {
                                out.extend_from_slice(&bytes);
                            } else if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                                out.extend_from_slice(text.as_bytes());
                            }
                            out.push(0);
                        }
                    }
                }
                out
            }
        }
    }

    /// Drop the PostgreSQL test database; SQLite's directory goes with the harness.
    pub async fn finish(self) {
        if let Raw::Postgres {
            pool,
            admin_url,
            database,
        } = self.raw
        {
            pool.close().await;
            drop(self.app);
            if let Ok(admin) = sqlx::PgPool::connect(&admin_url).await {
                let _ = sqlx::raw_sql(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
                )))
                .execute(&admin)
                .await;
            }
        }
    }
}

fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(server, _)| server);
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

/// All bytes of all files below `dir`.
pub fn read_tree(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read the data directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            out.extend(read_tree(&path));
        } else {
            out.extend(std::fs::read(&path).unwrap_or_default());
        }
    }
    out
}

/// `haystack` with the machine's own text blanked out: identifiers (UUIDs), digests (hex runs of
/// 16 or more) and dates with their times. About one four-digit string in seventy occurs by
/// chance in those, so a search for a short number — the last digits of a card — must not look
/// there; a number stored in clear, in a column or in JSON, stays visible.
pub fn without_machine_text(haystack: &[u8]) -> Vec<u8> {
    let mut out = haystack.to_vec();
    let mut at = 0;
    while at < out.len() {
        let len = uuid_at(&out[at..])
            .or_else(|| hex_run_at(&out[at..]))
            .or_else(|| date_time_at(&out[at..]));
        match len {
            Some(len) => {
                out[at..at + len].fill(0);
                at += len;
            }
            None => at += 1,
        }
    }
    out
}

/// Whether `bytes` starts with characters of the given classes, one class per character
/// (`h` hex, `d` decimal, anything else literal).
fn shaped(bytes: &[u8], shape: &str) -> bool {
    bytes.len() >= shape.len()
        && shape.bytes().zip(bytes).all(|(class, &b)| match class {
            b'h' => b.is_ascii_hexdigit(),
            b'd' => b.is_ascii_digit(),
            literal => b == literal,
        })
}

fn uuid_at(bytes: &[u8]) -> Option<usize> {
    const UUID: &str = "hhhhhhhh-hhhh-hhhh-hhhh-hhhhhhhhhhhh";
    shaped(bytes, UUID).then_some(UUID.len())
}

fn hex_run_at(bytes: &[u8]) -> Option<usize> {
    let run = bytes.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    (run >= 16).then_some(run)
}

/// A date, and the time after it if there is one (`T` or space, seconds, any fraction, `Z`).
fn date_time_at(bytes: &[u8]) -> Option<usize> {
    const DATE: &str = "dddd-dd-dd";
    if !shaped(bytes, DATE) {
        return None;
    }
    let mut len = DATE.len();
    if shaped(&bytes[len..], "Tdd:dd:dd") || shaped(&bytes[len..], " dd:dd:dd") {
        len += "Tdd:dd:dd".len();
        if bytes.get(len) == Some(&b'.') {
            len += 1 + bytes[len + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
        }
        if bytes.get(len) == Some(&b'Z') {
            len += 1;
        }
    }
    Some(len)
}

/// Whether `needle` occurs anywhere in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
