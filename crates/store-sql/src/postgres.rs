//! The scale-out backend: PostgreSQL. Every PD table carries the subject id, so the data can be
//! distributed by it. The key store lives in schema `vault`, reached through its own pool whose
//! search path is that schema. Erased rows may linger as dead tuples until VACUUM; their keys
//! are destroyed first, which is what makes erasure immediate here.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{PgPool, Postgres};
use vintrova_core::store::StoreError;

use crate::{Dialect, SqlKeyStore, SqlStore, backend, migrator};

pub type PgStore = SqlStore<Postgres>;
pub type PgKeyStore = SqlKeyStore<Postgres>;

/// The advisory lock ("VINTSERV") every server holds, shared, on the database it serves, and a
/// restore takes alone — servers on other machines hold it too, where a file lock cannot reach.
const SERVING_LOCK: i64 = 0x5649_4e54_5345_5256;

/// The serving lock, held for as long as this value lives (by its own connection: a
/// session-level advisory lock ends when the connection closes, whatever happens).
pub struct ServingLock(#[allow(dead_code)] sqlx::PgConnection);

/// Take the serving lock, `exclusive` for a restore, shared for a server; `None` when another
/// holder stands in the way.
pub async fn serving_lock(
    store: &PgStore,
    exclusive: bool,
) -> Result<Option<ServingLock>, StoreError> {
    let mut conn = store.pool().acquire().await.map_err(backend::<Postgres>)?;
    let taken: bool = sqlx::query_scalar(if exclusive {
        "SELECT pg_try_advisory_lock($1)"
    } else {
        "SELECT pg_try_advisory_lock_shared($1)"
    })
    .bind(SERVING_LOCK)
    .fetch_one(&mut *conn)
    .await
    .map_err(backend::<Postgres>)?;
    // Out of the pool: returned to it, the connection would keep the lock for whoever's next.
    Ok(taken.then(|| ServingLock(conn.detach())))
}

impl Dialect for Postgres {
    const BACKEND: &'static str = "postgres";
    // Row locks: writers of different people proceed side by side.
    const PARALLEL_WRITERS: usize = 4;
    const BEGIN_WRITE: &'static str = "BEGIN";
    // One chain across every server sharing the database: appends take a transaction-scoped
    // advisory lock ("VINTAUDT").
    const AUDIT_LOCK: Option<&'static str> =
        Some("SELECT pg_advisory_xact_lock(6217011736226399316)");
    const VACUUM_KEYS: Option<&'static str> = Some("VACUUM vault_keys");
    const LOCK_CLAIMED: &'static str = " FOR UPDATE SKIP LOCKED";
    const SCHEMA: &'static str =
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx\\_%'
           AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.relispartition
             AND c.relnamespace = current_schema()::regnamespace AND c.relname = table_name)
         ORDER BY table_name, ordinal_position";

    const DELETE_EVENTS: &'static str = "DELETE FROM pd_events WHERE subject_id = $1
         AND id IN (SELECT value::uuid FROM jsonb_array_elements_text($2::jsonb))";

    const EVENT_MONTHS: bool = true;

    fn rows_affected(result: &sqlx::postgres::PgQueryResult) -> u64 {
        result.rows_affected()
    }

    async fn scrub(_pool: &PgPool) -> Result<(), String> {
        // Dead tuples hold only ciphertext whose key is already destroyed; autovacuum reclaims
        // them. A VACUUM here would stall every erasure on large tables.
        Ok(())
    }
}

/// Connect to `url`, bring the schema up to date, and open the data and key stores.
/// Personal data crosses a network to PostgreSQL only encrypted (R7.1): a server off this
/// machine is reached with TLS required (`sslmode=require`, `verify-ca` or `verify-full`); a
/// Unix socket or a loopback address may go without.
fn encrypted_or_local(options: &PgConnectOptions) -> Result<(), StoreError> {
    let host = options
        .get_host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let local = options.get_socket().is_some()
        || host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let required = matches!(
        options.get_ssl_mode(),
        PgSslMode::Require | PgSslMode::VerifyCa | PgSslMode::VerifyFull
    );
    if local || required {
        return Ok(());
    }
    Err(StoreError::Backend(format!(
        "PostgreSQL at {host} is off this machine and the database URL does not require TLS, so personal data would cross the network in the clear: add `sslmode=verify-full` to the URL (with `sslrootcert=/path/to/ca.pem` when the server's certificate comes from your own authority), or `sslmode=require` to encrypt without checking the certificate"
    )))
}

pub async fn open(url: &str) -> Result<(PgStore, PgKeyStore), StoreError> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Backend(format!("the PostgreSQL URL does not parse: {e}")))?;
    encrypted_or_local(&options)?;
    let unreachable =
        |e: sqlx::Error| StoreError::Backend(format!("PostgreSQL at the configured URL: {e}"));
    let data = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options.clone())
        .await
        .map_err(unreachable)?;
    migrator(&[
        (
            "initial",
            include_str!("../migrations/postgres/0001_initial.sql"),
        ),
        (
            "consents_events",
            include_str!("../migrations/postgres/0002_consents_events.sql"),
        ),
        (
            "accounts",
            include_str!("../migrations/postgres/0003_accounts.sql"),
        ),
        (
            "records",
            include_str!("../migrations/postgres/0004_records.sql"),
        ),
        (
            "notices",
            include_str!("../migrations/postgres/0005_notices.sql"),
        ),
        (
            "password_resets",
            include_str!("../migrations/postgres/0006_password_resets.sql"),
        ),
        (
            "outbox",
            include_str!("../migrations/postgres/0007_outbox.sql"),
        ),
        (
            "requests",
            include_str!("../migrations/postgres/0008_requests.sql"),
        ),
        (
            "downloads",
            include_str!("../migrations/postgres/0009_downloads.sql"),
        ),
        (
            "retention",
            include_str!("../migrations/postgres/0010_retention.sql"),
        ),
        (
            "staff_ledgers",
            include_str!("../migrations/postgres/0011_staff_ledgers.sql"),
        ),
        (
            "audit_by_subject",
            include_str!("../migrations/postgres/0012_audit_by_subject.sql"),
        ),
        (
            "erasure_receipts",
            include_str!("../migrations/postgres/0013_erasure_receipts.sql"),
        ),
        (
            "access_digest",
            include_str!("../migrations/postgres/0014_access_digest.sql"),
        ),
        (
            "audit_stated_purpose",
            include_str!("../migrations/postgres/0015_audit_stated_purpose.sql"),
        ),
        (
            "checkpoint_seal",
            include_str!("../migrations/postgres/0016_checkpoint_seal.sql"),
        ),
        (
            "erasures_underway",
            include_str!("../migrations/postgres/0017_erasures_underway.sql"),
        ),
        (
            "one_address",
            include_str!("../migrations/postgres/0018_one_address.sql"),
        ),
        (
            "letters",
            include_str!("../migrations/postgres/0019_letters.sql"),
        ),
        (
            "languages",
            include_str!("../migrations/postgres/0020_languages.sql"),
        ),
        (
            "webhooks",
            include_str!("../migrations/postgres/0021_webhooks.sql"),
        ),
        (
            "inbox",
            include_str!("../migrations/postgres/0022_inbox.sql"),
        ),
        (
            "keyed_by_person",
            include_str!("../migrations/postgres/0023_keyed_by_person.sql"),
        ),
        (
            "events_by_month",
            include_str!("../migrations/postgres/0024_events_by_month.sql"),
        ),
    ])
    .run(&data)
    .await
    .map_err(backend::<Postgres>)?;
    let keys = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options.options([("search_path", "vault")]))
        .await
        .map_err(unreachable)?;
    Ok((SqlStore::new(data), SqlKeyStore::new(keys)))
}
