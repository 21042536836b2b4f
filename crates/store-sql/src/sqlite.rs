//! The embedded default: SQLite files in the data directory, the data and the key store each in
//! its own file. WAL, foreign keys, a busy timeout, `BEGIN IMMEDIATE` for writes, and secure
//! delete plus a truncating checkpoint so that erased bytes leave the files.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, Sqlite, SqlitePool};
use vintrova_core::store::StoreError;

use crate::{Dialect, SqlKeyStore, SqlStore, backend, migrator};

mod readers;
pub use readers::Readers;

pub type SqliteStore = SqlStore<Sqlite>;
pub type SqliteKeyStore = SqlKeyStore<Sqlite>;

impl Dialect for Sqlite {
    const BACKEND: &'static str = "sqlite";
    // One writer at a time holds the file: a second one only waits, and busy-waits at that.
    const PARALLEL_WRITERS: usize = 1;
    // IMMEDIATE takes the write lock up front; a deferred BEGIN fails with SQLITE_BUSY when two
    // writers upgrade at once. It also serializes audit appends, so no extra lock is needed.
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const AUDIT_LOCK: Option<&'static str> = None;
    // Secure delete zeroes the pages and the scrub truncates the WAL.
    const VACUUM_KEYS: Option<&'static str> = None;
    const LOCK_CLAIMED: &'static str = "";
    const SCHEMA: &'static str =
        "SELECT m.name, p.name FROM sqlite_schema AS m JOIN pragma_table_info(m.name) AS p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx_%'
         ORDER BY m.name, p.cid";

    const DELETE_EVENTS: &'static str = "DELETE FROM pd_events WHERE subject_id = $1
         AND id IN (SELECT unhex(replace(value, '-', '')) FROM json_each($2))";

    const EVENT_MONTHS: bool = false;

    fn rows_affected(result: &sqlx::sqlite::SqliteQueryResult) -> u64 {
        result.rows_affected()
    }

    /// Fold the write-ahead log into the database and truncate it, so page images that held
    /// deleted values do not survive in the `-wal` file (`secure_delete` already zeroes them in
    /// the database pages).
    async fn scrub(pool: &SqlitePool) -> Result<(), String> {
        for _ in 0..50 {
            let busy: i64 = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(pool)
                .await
                .map_err(|e| e.to_string())?
                .get(0);
            if busy == 0 {
                return Ok(());
            }
            // A reader holding the log finishes within milliseconds; give it that long.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err("the write-ahead log stayed busy with readers; the keys are destroyed, run the erasure again to scrub the log".into())
    }
}

async fn open_pool(
    path: &Path,
    migrations: &[(&'static str, &'static str)],
) -> Result<SqlitePool, StoreError> {
    let url = format!("sqlite://{}", path.display());
    open_url(&url, migrations).await
}

async fn open_url(
    url: &str,
    migrations: &[(&'static str, &'static str)],
) -> Result<SqlitePool, StoreError> {
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(connect_options(url)?)
        .await
        .map_err(backend::<Sqlite>)?;
    migrator(migrations)
        .run(&pool)
        .await
        .map_err(backend::<Sqlite>)?;
    Ok(pool)
}

/// The one connection every write of the data store goes through (see `SqlStore::writer`).
async fn writer(url: &str) -> Result<SqlitePool, StoreError> {
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(connect_options(url)?)
        .await
        .map_err(backend::<Sqlite>)
}

fn connect_options(url: &str) -> Result<SqliteConnectOptions, StoreError> {
    Ok(SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Backend(format!("`{url}` is not a SQLite URL: {e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .pragma("secure_delete", "ON")
        // sqlx runs each connection on its own thread and hands rows over a channel; a deep
        // channel lets a person's 10,000 events cross without a thread switch per row.
        .row_buffer_size(4096)
        // 32 MiB of page cache per connection (SQLite's default is 2 MiB): at a million people
        // the upper levels of every index stay in memory, so a lookup stays a few page reads.
        // It fills only as pages are used, so an idle server stays small.
        .pragma("cache_size", "-32768"))
}

/// Open (creating if needed) the data store at `data_url` (`sqlite://…`) and the key store in
/// its own file at `keys_path`.
pub async fn open(
    data_url: &str,
    keys_path: &Path,
) -> Result<(SqliteStore, SqliteKeyStore), StoreError> {
    let data = open_url(
        data_url,
        &[
            (
                "initial",
                include_str!("../migrations/sqlite/0001_data.sql"),
            ),
            (
                "consents_events",
                include_str!("../migrations/sqlite/0002_consents_events.sql"),
            ),
            (
                "accounts",
                include_str!("../migrations/sqlite/0003_accounts.sql"),
            ),
            (
                "records",
                include_str!("../migrations/sqlite/0004_records.sql"),
            ),
            (
                "notices",
                include_str!("../migrations/sqlite/0005_notices.sql"),
            ),
            (
                "password_resets",
                include_str!("../migrations/sqlite/0006_password_resets.sql"),
            ),
            (
                "outbox",
                include_str!("../migrations/sqlite/0007_outbox.sql"),
            ),
            (
                "requests",
                include_str!("../migrations/sqlite/0008_requests.sql"),
            ),
            (
                "downloads",
                include_str!("../migrations/sqlite/0009_downloads.sql"),
            ),
            (
                "retention",
                include_str!("../migrations/sqlite/0010_retention.sql"),
            ),
            (
                "staff_ledgers",
                include_str!("../migrations/sqlite/0011_staff_ledgers.sql"),
            ),
            (
                "audit_by_subject",
                include_str!("../migrations/sqlite/0012_audit_by_subject.sql"),
            ),
            (
                "erasure_receipts",
                include_str!("../migrations/sqlite/0013_erasure_receipts.sql"),
            ),
            (
                "access_digest",
                include_str!("../migrations/sqlite/0014_access_digest.sql"),
            ),
            (
                "audit_stated_purpose",
                include_str!("../migrations/sqlite/0015_audit_stated_purpose.sql"),
            ),
            (
                "erasures_underway",
                include_str!("../migrations/sqlite/0016_erasures_underway.sql"),
            ),
            (
                "one_address",
                include_str!("../migrations/sqlite/0017_one_address.sql"),
            ),
            (
                "letters",
                include_str!("../migrations/sqlite/0018_letters.sql"),
            ),
            (
                "languages",
                include_str!("../migrations/sqlite/0019_languages.sql"),
            ),
            (
                "webhooks",
                include_str!("../migrations/sqlite/0020_webhooks.sql"),
            ),
            ("inbox", include_str!("../migrations/sqlite/0021_inbox.sql")),
            (
                "keyed_by_person",
                include_str!("../migrations/sqlite/0022_keyed_by_person.sql"),
            ),
            (
                "expired_by_month",
                include_str!("../migrations/sqlite/0023_expired_by_month.sql"),
            ),
        ],
    )
    .await?;
    let keys = open_pool(
        keys_path,
        &[
            (
                "initial",
                include_str!("../migrations/sqlite/0001_keys.sql"),
            ),
            (
                "checkpoint",
                include_str!("../migrations/sqlite/0002_keys_checkpoint.sql"),
            ),
            (
                "checkpoint_seal",
                include_str!("../migrations/sqlite/0003_keys_checkpoint_seal.sql"),
            ),
        ],
    )
    .await?;
    // The file as SQLite resolved it; none for a database in memory, which keeps sqlx's reads.
    let file: String = sqlx::query("SELECT file FROM pragma_database_list WHERE name = 'main'")
        .fetch_one(&data)
        .await
        .map_err(backend::<Sqlite>)?
        .get(0);
    let store = SqlStore::new(data)
        .with_writer(writer(data_url).await?)
        .with_readers((!file.is_empty()).then(|| Readers::new(file.into())));
    Ok((store, SqlKeyStore::new(keys)))
}
