//! The storage ports in SQL, written once.
//!
//! Lives here: core's `Store` and the vault's `KeyStore` as SQL that SQLite and PostgreSQL both
//! speak, generic over the sqlx database; a [`Dialect`] carries the few things that differ (how
//! a write transaction begins, how audit appends are serialized, how erased bytes are scrubbed,
//! how to list the schema). The backend crates open pools, run their migrations and implement
//! the dialect. May not: decide anything about policy, purposes or keys — it stores what it is
//! given, in the transaction it is given, with the audit entry it is given.

mod keys;
pub mod postgres;
pub mod snapshot;
pub mod sqlite;

use std::collections::BTreeMap;
use std::future::Future;

use jiff::Timestamp;
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Transaction, Type,
};
use uuid::Uuid;
use vintrova_core::accounts::{AccountRecord, AccountStatus, ResetRecord, SessionRecord};
use vintrova_core::audit::{AuditDraft, AuditRecord, ChainSealer, GENESIS, parse_categories};
use vintrova_core::consent::{Channel, ConsentAction, ConsentEvent};
use vintrova_core::gate::{BasisEvent, BasisEventKind};
use vintrova_core::holds::{HoldAction, HoldEvent};
use vintrova_core::learning::Offering;
use vintrova_core::ledger::LedgerEntry;
use vintrova_core::notifications::{Notice, NoticeKind};
use vintrova_core::outbox::{OutboxEntry, OutboxState};
use vintrova_core::records::{Record, RecordKind};
use vintrova_core::requests::{AnswerChannel, CodeRecord, DownloadRecord, Request, RequestState};
use vintrova_core::rights::RightKind;
use vintrova_core::staff::{Role, StaffLookup, StaffRecord, StaffSessionRecord};
use vintrova_core::store::{
    ChainHead, ErasureCounts, ErasurePlan, EventMeta, Expiry, IndexEntry, Inventory, Leftovers,
    NewSubject, ReceiptRecord, Receipted, SealedEvent, SealedValue, Store, StoreError,
    SubjectRecord, ValueMeta,
};

pub use keys::SqlKeyStore;

/// What differs between the SQL databases Vintrova runs on.
pub trait Dialect: Database {
    /// For health checks and metrics: "sqlite", "postgres".
    const BACKEND: &'static str;
    /// See `Store::parallel_writers`.
    const PARALLEL_WRITERS: usize;
    /// How a write transaction starts.
    const BEGIN_WRITE: &'static str;
    /// Run first in a transaction that appends to the audit chain, to serialize appends
    /// across connections and servers; `None` when the write transaction already does.
    const AUDIT_LOCK: Option<&'static str>;
    /// Appended to the outbox claim query: row locks that let concurrent workers skip each
    /// other's claims (empty where the write transaction already serializes them).
    const LOCK_CLAIMED: &'static str;
    /// Rows of (table, column) of the data store, ordered, without the migrations table.
    const SCHEMA: &'static str;
    /// Delete a subject's (`$1`) events whose ids are in a JSON array of UUID strings (`$2`):
    /// one statement per batch instead of one per row.
    const DELETE_EVENTS: &'static str;

    fn rows_affected(result: &Self::QueryResult) -> u64;

    /// Make sure bytes of deleted rows do not survive in the database's files.
    fn scrub(pool: &Pool<Self>) -> impl Future<Output = Result<(), String>> + Send;
}

/// The embedded migrations, in order: (name, SQL).
pub(crate) fn migrator(steps: &[(&'static str, &'static str)]) -> sqlx::migrate::Migrator {
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    Migrator::with_migrations(
        steps
            .iter()
            .enumerate()
            .map(|(i, (name, sql))| {
                Migration::new(
                    i as i64 + 1,
                    (*name).into(),
                    MigrationType::Simple,
                    sqlx::SqlStr::from_static(sql),
                    false,
                )
            })
            .collect(),
    )
}

/// A backend error, named by backend; sqlx messages carry statements and constraint names,
/// never bound values.
pub fn backend<DB: Dialect>(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("{}: {e}", <DB as Database>::NAME))
}

fn time<DB: Dialect>(s: &str) -> Result<Timestamp, StoreError> {
    s.parse().map_err(|_| {
        StoreError::Backend(format!(
            "{}: a stored time `{s}` does not parse",
            <DB as Database>::NAME
        ))
    })
}

/// A unit enum's serde name (`beginner`, `webinar`), for a TEXT column.
fn word<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn from_word<DB: Dialect, T: serde::de::DeserializeOwned>(word: &str) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(word.to_string()))
        .map_err(|_| backend::<DB>(format!("unknown value `{word}` in the catalog")))
}

// Row shapes read in more than one place, each written once; the subject id sits where the
// row mappers skip it, so many subjects can be read at once.
macro_rules! records {
    () => {
        "SELECT id, subject_id, kind, state, digest, anchored_at, created_at, updated_at FROM records"
    };
}
macro_rules! requests {
    () => {
        "SELECT id, subject_id, right_kind, state, channel, received_at, due_on, overdue_from_us, closed_at FROM requests"
    };
}
const BASES: &str = "SELECT kind, purpose, channel, at, subject_id FROM basis_events";
const CONSENTS: &str = "SELECT purpose, action, policy_version, channel, evidence, terms, at, subject_id FROM consent_events";
const AUDIT: &str = "SELECT seq, at, actor, action, subject_id, categories, purpose, prev_hash, hash, stated_purpose FROM audit_log";
const STAFF: &str = "SELECT id, login, role, password_hash, totp_sealed, totp_last_step, enrollment_digest, enrollment_expires, failed_attempts, locked_until, active, created_at FROM staff";
const ACCOUNTS: &str = "SELECT password_hash, status, created_at, last_seen_at, idle_notice_at, subject_id FROM accounts";
const RECORDS: &str = records!();
const REQUESTS: &str = requests!();

const RECORD_BY_ID: &str = concat!(records!(), " WHERE id = $1");
const RECORDS_OF_SUBJECT: &str = concat!(records!(), " WHERE subject_id = $1 ORDER BY id");
const RECORDS_BY_DIGEST: &str = concat!(records!(), " WHERE kind = $1 AND digest = $2 ORDER BY id");
const REQUEST_BY_ID: &str = concat!(requests!(), " WHERE id = $1");
const REQUESTS_OF_SUBJECT: &str = concat!(requests!(), " WHERE subject_id = $1 ORDER BY id");
const OPEN_REQUESTS: &str = concat!(
    requests!(),
    " WHERE closed_at IS NULL ORDER BY overdue_from_us, id"
);

/// The data store on any [`Dialect`].
pub struct SqlStore<DB: Database> {
    pool: Pool<DB>,
}

impl<DB: Database> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        SqlStore {
            pool: self.pool.clone(),
        }
    }
}

impl<DB: Database> SqlStore<DB> {
    pub fn new(pool: Pool<DB>) -> Self {
        SqlStore { pool }
    }

    /// The pool, for tests that tamper with the database like an attacker would.
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }
}

impl<DB> SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    Uuid: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    String: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    Option<String>: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    Option<Uuid>: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    Vec<u8>: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    Option<Vec<u8>>: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    i64: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    Option<i64>: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    usize: ColumnIndex<DB::Row>,
{
    async fn begin(&self) -> Result<sqlx::Transaction<'static, DB>, StoreError> {
        self.pool
            .begin_with(DB::BEGIN_WRITE)
            .await
            .map_err(backend::<DB>)
    }

    async fn exec(
        conn: &mut DB::Connection,
        sql: &'static str,
        id: Uuid,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query::<DB>(sql)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(backend::<DB>)?;
        Ok(DB::rows_affected(&done))
    }

    async fn subject_exists(conn: &mut DB::Connection, id: Uuid) -> Result<(), StoreError> {
        let found = sqlx::query::<DB>("SELECT 1 FROM subjects WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend::<DB>)?;
        found.map(|_| ()).ok_or(StoreError::UnknownSubject(id))
    }

    async fn put_values(
        conn: &mut DB::Connection,
        id: Uuid,
        values: &[SealedValue],
        index: &[IndexEntry],
    ) -> Result<(), StoreError> {
        for v in values {
            sqlx::query::<DB>(
                "INSERT INTO pd_values (subject_id, field, key_class, sealed, source, collected_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (subject_id, field) DO UPDATE SET key_class = excluded.key_class,
                   sealed = excluded.sealed, source = excluded.source, collected_at = excluded.collected_at",
            )
            .bind(id)
            .bind(v.field.clone())
            .bind(v.key_class.clone())
            .bind(v.sealed.clone())
            .bind(v.source.clone())
            .bind(v.collected_at.to_string())
            .execute(&mut *conn)
            .await
            .map_err(backend::<DB>)?;
            // A new value of an indexed field replaces its old digest.
            sqlx::query::<DB>("DELETE FROM blind_index WHERE subject_id = $1 AND field = $2")
                .bind(id)
                .bind(v.field.clone())
                .execute(&mut *conn)
                .await
                .map_err(backend::<DB>)?;
        }
        for entry in index {
            sqlx::query::<DB>(
                "INSERT INTO blind_index (subject_id, field, digest) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(entry.field.clone())
            .bind(entry.digest.clone())
            .execute(&mut *conn)
            .await
            .map_err(backend::<DB>)?;
        }
        Ok(())
    }

    async fn put_basis_event(
        conn: &mut DB::Connection,
        id: Uuid,
        e: &BasisEvent,
    ) -> Result<(), StoreError> {
        sqlx::query::<DB>("INSERT INTO basis_events (subject_id, kind, purpose, channel, at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(e.kind.as_str().to_string())
            .bind(e.purpose.clone())
            .bind(e.channel.clone())
            .bind(e.at.to_string())
            .execute(&mut *conn)
            .await
            .map_err(backend::<DB>)?;
        Ok(())
    }

    async fn put_consent(
        conn: &mut DB::Connection,
        id: Uuid,
        e: &ConsentEvent,
    ) -> Result<(), StoreError> {
        let terms = serde_json::to_string(&e.terms).map_err(backend::<DB>)?;
        sqlx::query::<DB>(
            "INSERT INTO consent_events (subject_id, purpose, action, policy_version, channel, evidence, terms, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(e.purpose.clone())
        .bind(e.action.as_str().to_string())
        .bind(e.policy_version.clone())
        .bind(e.channel.as_str().to_string())
        .bind(e.evidence.clone())
        .bind(terms)
        .bind(e.at.to_string())
        .execute(&mut *conn)
        .await
        .map_err(backend::<DB>)?;
        Ok(())
    }

    async fn put_events(
        conn: &mut DB::Connection,
        id: Uuid,
        events: &[SealedEvent],
    ) -> Result<(), StoreError> {
        for e in events {
            sqlx::query::<DB>(
                "INSERT INTO pd_events (id, subject_id, category, key_class, sealed, source, collected_at, record_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(e.id)
            .bind(id)
            .bind(e.category.clone())
            .bind(e.key_class.clone())
            .bind(e.sealed.clone())
            .bind(e.source.clone())
            .bind(e.collected_at.to_string())
            .bind(e.record)
            .execute(&mut *conn)
            .await
            .map_err(backend::<DB>)?;
        }
        Ok(())
    }

    fn record_of(r: &DB::Row) -> Result<Record, StoreError> {
        let kind: String = r.get(2);
        let anchored: Option<String> = r.get(5);
        Ok(Record {
            id: r.get(0),
            subject: r.get(1),
            kind: RecordKind::parse(&kind)
                .ok_or_else(|| backend::<DB>(format!("unknown record kind `{kind}`")))?,
            state: r.get(3),
            digest: r.get(4),
            anchored_at: anchored.as_deref().map(time::<DB>).transpose()?,
            created_at: time::<DB>(&r.get::<String, _>(6))?,
            updated_at: time::<DB>(&r.get::<String, _>(7))?,
        })
    }

    /// Write a message; one with the same Message-ID already there stays as it is. True when written.
    async fn put_message(conn: &mut DB::Connection, m: &OutboxEntry) -> Result<bool, StoreError> {
        let done = sqlx::query::<DB>(
            "INSERT INTO outbox (id, subject_id, kind, message_id, sealed, state, attempts, next_attempt_us, claimed_until_us, created_at, sent_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, NULL) ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(m.id)
        .bind(m.subject)
        .bind(m.kind.clone())
        .bind(m.message_id.clone())
        .bind(m.sealed.clone())
        .bind(m.state.as_str().to_string())
        .bind(m.attempts)
        .bind(m.next_attempt_at.as_microsecond())
        .bind(m.created_at.to_string())
        .execute(&mut *conn)
        .await
        .map_err(backend::<DB>)?;
        Ok(DB::rows_affected(&done) == 1)
    }

    /// Keep a receipt's hash and queue the message carrying it.
    async fn put_receipt(
        conn: &mut DB::Connection,
        receipt: Option<&Receipted>,
    ) -> Result<(), StoreError> {
        let Some(receipt) = receipt else {
            return Ok(());
        };
        let r = &receipt.record;
        sqlx::query::<DB>(
            "INSERT INTO erasure_receipts (digest, id, cause, issued_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(r.digest.clone())
        .bind(r.id)
        .bind(r.cause.clone())
        .bind(r.issued_at.to_string())
        .execute(&mut *conn)
        .await
        .map_err(backend::<DB>)?;
        if let Some(message) = &receipt.message {
            Self::put_message(conn, message).await?;
        }
        Ok(())
    }

    fn request_of(r: &DB::Row) -> Result<Request, StoreError> {
        let (right, state, channel): (String, String, String) = (r.get(2), r.get(3), r.get(4));
        let closed: Option<String> = r.get(8);
        let due: String = r.get(6);
        Ok(Request {
            id: r.get(0),
            subject: r.get(1),
            right: RightKind::parse(&right)
                .ok_or_else(|| backend::<DB>(format!("unknown right `{right}`")))?,
            state: RequestState::parse(&state)
                .ok_or_else(|| backend::<DB>(format!("unknown request state `{state}`")))?,
            channel: AnswerChannel::parse(&channel)
                .ok_or_else(|| backend::<DB>(format!("unknown channel `{channel}`")))?,
            received_at: time::<DB>(&r.get::<String, _>(5))?,
            due_on: due
                .parse()
                .map_err(|_| backend::<DB>(format!("a stored date `{due}` does not parse")))?,
            overdue_from: Timestamp::from_microsecond(r.get(7)).map_err(backend::<DB>)?,
            closed_at: closed.as_deref().map(time::<DB>).transpose()?,
        })
    }

    fn basis_of(r: &DB::Row) -> Result<BasisEvent, StoreError> {
        let kind: String = r.get(0);
        Ok(BasisEvent {
            kind: BasisEventKind::parse(&kind)
                .ok_or_else(|| backend::<DB>(format!("unknown basis event kind `{kind}`")))?,
            purpose: r.get(1),
            channel: r.get(2),
            at: time::<DB>(&r.get::<String, _>(3))?,
        })
    }

    fn consent_of(r: &DB::Row) -> Result<ConsentEvent, StoreError> {
        let (action, channel, terms): (String, String, String) = (r.get(1), r.get(3), r.get(5));
        Ok(ConsentEvent {
            purpose: r.get(0),
            action: ConsentAction::parse(&action)
                .ok_or_else(|| backend::<DB>(format!("unknown consent action `{action}`")))?,
            policy_version: r.get(2),
            channel: Channel::parse(&channel)
                .ok_or_else(|| backend::<DB>(format!("unknown consent channel `{channel}`")))?,
            evidence: r.get(4),
            terms: serde_json::from_str(&terms).map_err(backend::<DB>)?,
            at: time::<DB>(&r.get::<String, _>(6))?,
        })
    }

    fn account_of(r: &DB::Row) -> Result<AccountRecord, StoreError> {
        let status: String = r.get(1);
        let optional_time = |i: usize| {
            r.get::<Option<String>, _>(i)
                .as_deref()
                .map(time::<DB>)
                .transpose()
        };
        Ok(AccountRecord {
            subject: r.get(5),
            password_hash: r.get(0),
            status: AccountStatus::parse(&status)
                .ok_or_else(|| backend::<DB>(format!("unknown account status `{status}`")))?,
            created_at: time::<DB>(&r.get::<String, _>(2))?,
            last_seen_at: optional_time(3)?,
            idle_notice_at: optional_time(4)?,
        })
    }

    /// Delete a subject and everything about it, counting what went.
    async fn delete_subject(
        tx: &mut DB::Connection,
        id: Uuid,
        counts: &mut ErasureCounts,
    ) -> Result<(), StoreError> {
        Self::exec(&mut *tx, "DELETE FROM outbox WHERE subject_id = $1", id).await?;
        Self::exec(&mut *tx, "DELETE FROM downloads WHERE subject_id = $1", id).await?;
        for (counter, sql) in [
            (
                &mut counts.index_entries,
                "DELETE FROM blind_index WHERE subject_id = $1",
            ),
            (
                &mut counts.values,
                "DELETE FROM pd_values WHERE subject_id = $1",
            ),
            (
                &mut counts.events,
                "DELETE FROM pd_events WHERE subject_id = $1",
            ),
            (
                &mut counts.basis_events,
                "DELETE FROM basis_events WHERE subject_id = $1",
            ),
            (
                &mut counts.consent_events,
                "DELETE FROM consent_events WHERE subject_id = $1",
            ),
            (
                &mut counts.sessions,
                "DELETE FROM sessions WHERE subject_id = $1",
            ),
            (
                &mut counts.records,
                "DELETE FROM records WHERE subject_id = $1",
            ),
            (
                &mut counts.notices,
                "DELETE FROM notices WHERE subject_id = $1",
            ),
            (
                &mut Default::default(),
                "DELETE FROM request_codes WHERE request_id IN (SELECT id FROM requests WHERE subject_id = $1)",
            ),
            (
                &mut counts.requests,
                "DELETE FROM requests WHERE subject_id = $1",
            ),
        ] {
            *counter += Self::exec(&mut *tx, sql, id).await?;
        }
        Self::exec(
            &mut *tx,
            "DELETE FROM password_resets WHERE subject_id = $1",
            id,
        )
        .await?;
        Self::exec(&mut *tx, "DELETE FROM accounts WHERE subject_id = $1", id).await?;
        Self::exec(&mut *tx, "DELETE FROM subjects WHERE id = $1", id).await?;
        Ok(())
    }

    /// Rows whose time (second column: text, or integer microseconds) is at or before
    /// `cutoff`, keyed by the first column: counted, and unless `count_only` deleted, a batch
    /// per transaction.
    async fn stale<K>(
        &self,
        select: &'static str,
        delete: &'static str,
        cutoff: Timestamp,
        count_only: bool,
    ) -> Result<u64, StoreError>
    where
        K: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB> + Send + 'static,
    {
        let rows = sqlx::query::<DB>(select)
            .fetch_all(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        let mut keys = Vec::new();
        for r in rows {
            let at = match r.try_get::<i64, _>(1) {
                Ok(us) => Timestamp::from_microsecond(us).map_err(backend::<DB>)?,
                Err(_) => time::<DB>(&r.get::<String, _>(1))?,
            };
            if at <= cutoff {
                keys.push(r.get::<K, _>(0));
            }
        }
        let stale = keys.len() as u64;
        if count_only {
            return Ok(stale);
        }
        let mut keys = keys.into_iter().peekable();
        while keys.peek().is_some() {
            let mut tx = self.begin().await?;
            for key in keys.by_ref().take(vintrova_core::sweep::BATCH) {
                sqlx::query::<DB>(delete)
                    .bind(key)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend::<DB>)?;
            }
            tx.commit().await.map_err(backend::<DB>)?;
        }
        Ok(stale)
    }

    /// Append to the chain inside the caller's write transaction.
    async fn put_audit(
        conn: &mut DB::Connection,
        draft: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        if let Some(lock) = DB::AUDIT_LOCK {
            sqlx::query::<DB>(lock)
                .execute(&mut *conn)
                .await
                .map_err(backend::<DB>)?;
        }
        let last = sqlx::query::<DB>("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend::<DB>)?;
        let (seq, prev): (i64, Vec<u8>) = match last {
            Some(row) => (row.get::<i64, _>(0) + 1, row.get(1)),
            None => (1, GENESIS.to_vec()),
        };
        let hash = sealer.link(&prev, seq, draft).to_vec();
        sqlx::query::<DB>(
            "INSERT INTO audit_log (seq, at, actor, action, subject_id, categories, purpose, prev_hash, hash, stated_purpose)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(seq)
        .bind(draft.at.to_string())
        .bind(draft.actor.clone())
        .bind(draft.action.clone())
        .bind(draft.subject)
        .bind(draft.categories_column())
        .bind(draft.purpose.clone())
        .bind(prev)
        .bind(hash.clone())
        .bind(draft.stated_purpose.clone())
        .execute(&mut *conn)
        .await
        .map_err(backend::<DB>)?;
        Ok((seq, hash))
    }

    /// All rows of `sql` for one subject (bound as `$1`).
    async fn rows_of(&self, sql: &str, id: Uuid) -> Result<Vec<DB::Row>, StoreError> {
        sqlx::query::<DB>(sqlx::AssertSqlSafe(sql.to_string()))
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend::<DB>)
    }

    /// The row of `sql` whose key (bound as `$1`) is these bytes: a token's digest.
    async fn row_by_digest(
        &self,
        sql: &'static str,
        digest: &[u8],
    ) -> Result<Option<DB::Row>, StoreError> {
        sqlx::query::<DB>(sql)
            .bind(digest.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend::<DB>)
    }

    /// A write transaction, after checking that `subject` (if any) exists.
    async fn open_write(
        &self,
        subject: Option<Uuid>,
    ) -> Result<Transaction<'static, DB>, StoreError> {
        let mut tx = self.begin().await?;
        if let Some(id) = subject {
            Self::subject_exists(&mut tx, id).await?;
        }
        Ok(tx)
    }

    fn audit_record_of(r: &DB::Row) -> Result<AuditRecord, StoreError> {
        Ok(AuditRecord {
            seq: r.get(0),
            entry: AuditDraft {
                at: time::<DB>(&r.get::<String, _>(1))?,
                actor: r.get(2),
                action: r.get(3),
                subject: r.get(4),
                categories: parse_categories(&r.get::<String, _>(5)),
                purpose: r.get(6),
                stated_purpose: r.get(9),
            },
            prev_hash: r.get(7),
            hash: r.get(8),
        })
    }

    fn download_of(r: &DB::Row) -> Result<DownloadRecord, StoreError> {
        Ok(DownloadRecord {
            subject: r.get(0),
            sealed: r.get(1),
            expires_at: Timestamp::from_microsecond(r.get(2)).map_err(backend::<DB>)?,
            digest: r.get(3),
        })
    }

    /// End the sessions in `table` of one owner, or the one with `token_digest`.
    async fn end_sessions(
        &self,
        table: &str,
        owner_column: &str,
        owner: Option<Uuid>,
        token_digest: Option<&[u8]>,
    ) -> Result<u64, StoreError> {
        let done = match (owner, token_digest) {
            (Some(id), _) => {
                sqlx::query::<DB>(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE {owner_column} = $1"
                )))
                .bind(id)
                .execute(&self.pool)
                .await
            }
            (None, Some(digest)) => {
                sqlx::query::<DB>(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE token_digest = $1"
                )))
                .bind(digest.to_vec())
                .execute(&self.pool)
                .await
            }
            (None, None) => return Ok(0),
        }
        .map_err(backend::<DB>)?;
        Ok(DB::rows_affected(&done))
    }

    fn staff_of(r: &DB::Row) -> Result<StaffRecord, StoreError> {
        let role: String = r.get(2);
        let optional_time = |i: usize| {
            r.get::<Option<String>, _>(i)
                .as_deref()
                .map(time::<DB>)
                .transpose()
        };
        Ok(StaffRecord {
            id: r.get(0),
            login: r.get(1),
            role: Role::parse(&role)
                .ok_or_else(|| backend::<DB>(format!("unknown staff role `{role}`")))?,
            password_hash: r.get(3),
            totp_sealed: r.get(4),
            totp_last_step: r.get(5),
            enrollment_digest: r.get(6),
            enrollment_expires: optional_time(7)?,
            failed_attempts: r.get(8),
            locked_until: optional_time(9)?,
            active: r.get::<i64, _>(10) != 0,
            created_at: time::<DB>(&r.get::<String, _>(11))?,
        })
    }

    /// Append the audit entry of the change and commit both together.
    async fn commit_audited(
        mut tx: Transaction<'static, DB>,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let head = Self::put_audit(&mut tx, audit, sealer).await?;
        tx.commit().await.map_err(backend::<DB>)?;
        Ok(head)
    }
}

#[async_trait::async_trait]
impl<DB> Store for SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    Uuid: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    String: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    Option<String>: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    Option<Uuid>: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    Vec<u8>: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    Option<Vec<u8>>: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    i64: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    Option<i64>: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    usize: ColumnIndex<DB::Row>,
{
    fn backend(&self) -> &'static str {
        DB::BACKEND
    }

    fn parallel_writers(&self) -> usize {
        DB::PARALLEL_WRITERS
    }

    async fn insert_subject(
        &self,
        new: &NewSubject,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let id = new.subject.id;
        let mut tx = self.open_write(None).await?;
        let inserted = sqlx::query::<DB>(
            "INSERT INTO subjects (id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(new.subject.created_at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        if DB::rows_affected(&inserted) == 0 {
            return Err(StoreError::DuplicateSubject(id));
        }
        Self::put_values(&mut tx, id, &new.values, &new.index).await?;
        Self::put_events(&mut tx, id, &new.events).await?;
        for event in &new.bases {
            Self::put_basis_event(&mut tx, id, event).await?;
        }
        for consent in &new.consents {
            Self::put_consent(&mut tx, id, consent).await?;
        }
        Self::commit_audited(tx, audit, sealer).await
    }

    async fn append_consent(
        &self,
        subject: Uuid,
        event: &ConsentEvent,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(subject)).await?;
        Self::put_consent(&mut tx, subject, event).await?;
        Self::commit_audited(tx, audit, sealer).await
    }

    async fn insert_events(
        &self,
        subject: Uuid,
        events: &[SealedEvent],
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(subject)).await?;
        Self::put_events(&mut tx, subject, events).await?;
        Self::commit_audited(tx, audit, sealer).await
    }

    async fn consents(&self, id: Uuid) -> Result<Vec<ConsentEvent>, StoreError> {
        let rows = self
            .rows_of(&format!("{CONSENTS} WHERE subject_id = $1 ORDER BY id"), id)
            .await?;
        rows.iter().map(Self::consent_of).collect()
    }

    async fn events(&self, id: Uuid) -> Result<Vec<SealedEvent>, StoreError> {
        let rows = self
            .rows_of(
                "SELECT id, category, key_class, sealed, source, collected_at, record_id FROM pd_events WHERE subject_id = $1 ORDER BY id",
                id,
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SealedEvent {
                    id: r.get(0),
                    category: r.get(1),
                    key_class: r.get(2),
                    sealed: r.get(3),
                    source: r.get(4),
                    collected_at: time::<DB>(&r.get::<String, _>(5))?,
                    record: r.get(6),
                })
            })
            .collect()
    }

    async fn upsert_values(
        &self,
        subject: Uuid,
        values: &[SealedValue],
        index: &[IndexEntry],
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(subject)).await?;
        Self::put_values(&mut tx, subject, values, index).await?;
        Self::commit_audited(tx, audit, sealer).await
    }

    async fn append_basis_event(
        &self,
        subject: Uuid,
        event: &BasisEvent,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(subject)).await?;
        Self::put_basis_event(&mut tx, subject, event).await?;
        Self::commit_audited(tx, audit, sealer).await
    }

    async fn subject(&self, id: Uuid) -> Result<Option<SubjectRecord>, StoreError> {
        let row = sqlx::query::<DB>("SELECT created_at FROM subjects WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        row.map(|r| {
            Ok(SubjectRecord {
                id,
                created_at: time::<DB>(&r.get::<String, _>(0))?,
            })
        })
        .transpose()
    }

    async fn values(&self, id: Uuid) -> Result<Vec<SealedValue>, StoreError> {
        let rows = self
            .rows_of("SELECT field, key_class, sealed, source, collected_at FROM pd_values WHERE subject_id = $1 ORDER BY field", id)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SealedValue {
                    field: r.get(0),
                    key_class: r.get(1),
                    sealed: r.get(2),
                    source: r.get(3),
                    collected_at: time::<DB>(&r.get::<String, _>(4))?,
                })
            })
            .collect()
    }

    async fn basis_events(&self, id: Uuid) -> Result<Vec<BasisEvent>, StoreError> {
        let rows = self
            .rows_of(&format!("{BASES} WHERE subject_id = $1 ORDER BY id"), id)
            .await?;
        rows.iter().map(Self::basis_of).collect()
    }

    async fn find_by_index(&self, field: &str, digest: &[u8]) -> Result<Vec<Uuid>, StoreError> {
        let rows = sqlx::query::<DB>("SELECT subject_id FROM blind_index WHERE field = $1 AND digest = $2 ORDER BY subject_id")
            .bind(field.to_string())
            .bind(digest.to_vec())
            .fetch_all(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn append_audit(
        &self,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let tx = self.open_write(None).await?;
        Self::commit_audited(tx, audit, sealer).await
    }

    async fn erase(
        &self,
        id: Uuid,
        plan: &ErasurePlan,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<(ErasureCounts, ChainHead), StoreError> {
        let mut tx = self.open_write(Some(id)).await?;
        let mut counts = ErasureCounts::default();
        // Messages waiting for this person carry their address: they go whatever else stays.
        counts.messages +=
            Self::exec(&mut tx, "DELETE FROM outbox WHERE subject_id = $1", id).await?;
        Self::exec(&mut tx, "DELETE FROM downloads WHERE subject_id = $1", id).await?;
        for class in &plan.classes {
            for kind in [
                RecordKind::Order,
                RecordKind::Enrollment,
                RecordKind::Ticket,
            ] {
                if kind.key_class() == class {
                    let done = sqlx::query::<DB>(
                        "DELETE FROM records WHERE subject_id = $1 AND kind = $2",
                    )
                    .bind(id)
                    .bind(kind.as_str().to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend::<DB>)?;
                    counts.records += DB::rows_affected(&done);
                }
            }
            for (counter, sql) in [
                (
                    &mut counts.index_entries,
                    "DELETE FROM blind_index WHERE subject_id = $1
                     AND field IN (SELECT field FROM pd_values WHERE subject_id = $1 AND key_class = $2)",
                ),
                (&mut counts.values, "DELETE FROM pd_values WHERE subject_id = $1 AND key_class = $2"),
                (&mut counts.events, "DELETE FROM pd_events WHERE subject_id = $1 AND key_class = $2"),
            ] {
                let done = sqlx::query::<DB>(sql)
                    .bind(id)
                    .bind(class.clone())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend::<DB>)?;
                *counter += DB::rows_affected(&done);
            }
        }
        if plan.whole_subject {
            Self::delete_subject(&mut tx, id, &mut counts).await?;
        }
        Self::put_receipt(&mut tx, plan.receipt.as_ref()).await?;
        let head = Self::commit_audited(tx, audit, sealer).await?;
        DB::scrub(&self.pool).await.map_err(backend::<DB>)?;
        Ok((counts, head))
    }

    async fn receipt(&self, digest: &[u8]) -> Result<Option<ReceiptRecord>, StoreError> {
        let row = sqlx::query::<DB>(
            "SELECT id, cause, issued_at FROM erasure_receipts WHERE digest = $1",
        )
        .bind(digest.to_vec())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend::<DB>)?;
        row.map(|r| {
            let issued_at: String = r.get(2);
            Ok(ReceiptRecord {
                id: r.get(0),
                digest: digest.to_vec(),
                cause: r.get(1),
                issued_at: time::<DB>(&issued_at)?,
            })
        })
        .transpose()
    }

    async fn insert_account(
        &self,
        account: &AccountRecord,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(account.subject)).await?;
        sqlx::query::<DB>("INSERT INTO accounts (subject_id, password_hash, status, created_at) VALUES ($1, $2, $3, $4)")
            .bind(account.subject)
            .bind(account.password_hash.clone())
            .bind(account.status.as_str().to_string())
            .bind(account.created_at.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend::<DB>)?;
        Self::commit_audited(tx, audit, sealer).await
    }

    async fn account(&self, subject: Uuid) -> Result<Option<AccountRecord>, StoreError> {
        let rows = self
            .rows_of(&format!("{ACCOUNTS} WHERE subject_id = $1"), subject)
            .await?;
        rows.first().map(Self::account_of).transpose()
    }

    async fn set_password(
        &self,
        subject: Uuid,
        hash: &str,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(subject)).await?;
        sqlx::query::<DB>("UPDATE accounts SET password_hash = $2 WHERE subject_id = $1")
            .bind(subject)
            .bind(hash.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend::<DB>)?;
        Self::commit_audited(tx, audit, sealer).await
    }

    async fn close_account(
        &self,
        subject: Uuid,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(subject)).await?;
        sqlx::query::<DB>(
            "UPDATE accounts SET status = 'closed', closed_at = $2 WHERE subject_id = $1",
        )
        .bind(subject)
        .bind(audit.at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        Self::commit_audited(tx, audit, sealer).await
    }

    /// A session is the account in use: it also moves the last sign-in and clears an idle
    /// warning, in the same transaction.
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query::<DB>(
            "INSERT INTO sessions (token_digest, subject_id, created_at, expires_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (token_digest) DO UPDATE SET expires_at = excluded.expires_at",
        )
        .bind(session.token_digest.clone())
        .bind(session.subject)
        .bind(session.created_at.to_string())
        .bind(session.expires_at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        sqlx::query::<DB>(
            "UPDATE accounts SET last_seen_at = $2, idle_notice_at = NULL WHERE subject_id = $1",
        )
        .bind(session.subject)
        .bind(session.created_at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        tx.commit().await.map_err(backend::<DB>)
    }

    async fn session(&self, token_digest: &[u8]) -> Result<Option<SessionRecord>, StoreError> {
        let row = self
            .row_by_digest(
                "SELECT subject_id, created_at, expires_at FROM sessions WHERE token_digest = $1",
                token_digest,
            )
            .await?;
        row.map(|r| {
            Ok(SessionRecord {
                token_digest: token_digest.to_vec(),
                subject: r.get(0),
                created_at: time::<DB>(&r.get::<String, _>(1))?,
                expires_at: time::<DB>(&r.get::<String, _>(2))?,
            })
        })
        .transpose()
    }

    async fn insert_reset(
        &self,
        r: &ResetRecord,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(r.subject)).await?;
        sqlx::query::<DB>("INSERT INTO password_resets (token_digest, subject_id, expires_at, used_at) VALUES ($1, $2, $3, NULL)")
            .bind(r.token_digest.clone())
            .bind(r.subject)
            .bind(r.expires_at.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend::<DB>)?;
        Self::commit_audited(tx, audit, sealer).await
    }

    async fn reset(&self, token_digest: &[u8]) -> Result<Option<ResetRecord>, StoreError> {
        let row = self.row_by_digest("SELECT subject_id, expires_at, used_at FROM password_resets WHERE token_digest = $1", token_digest).await?;
        row.map(|r| {
            let used: Option<String> = r.get(2);
            Ok(ResetRecord {
                token_digest: token_digest.to_vec(),
                subject: r.get(0),
                expires_at: time::<DB>(&r.get::<String, _>(1))?,
                used_at: used.as_deref().map(time::<DB>).transpose()?,
            })
        })
        .transpose()
    }

    async fn use_reset(&self, token_digest: &[u8], at: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query::<DB>(
            "UPDATE password_resets SET used_at = $2 WHERE token_digest = $1 AND used_at IS NULL",
        )
        .bind(token_digest.to_vec())
        .bind(at.to_string())
        .execute(&self.pool)
        .await
        .map_err(backend::<DB>)?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn delete_sessions(
        &self,
        subject: Option<Uuid>,
        token_digest: Option<&[u8]>,
    ) -> Result<u64, StoreError> {
        self.end_sessions("sessions", "subject_id", subject, token_digest)
            .await
    }

    async fn insert_record(
        &self,
        r: &Record,
        events: &[SealedEvent],
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(r.subject)).await?;
        sqlx::query::<DB>(
            "INSERT INTO records (id, subject_id, kind, state, digest, anchored_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(r.id)
        .bind(r.subject)
        .bind(r.kind.as_str().to_string())
        .bind(r.state.clone())
        .bind(r.digest.clone())
        .bind(r.anchored_at.map(|t| t.to_string()))
        .bind(r.created_at.to_string())
        .bind(r.updated_at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        Self::put_events(&mut tx, r.subject, events).await?;
        Self::commit_audited(tx, audit, sealer).await
    }

    async fn advance_record(
        &self,
        r: &Record,
        events: &[SealedEvent],
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(r.subject)).await?;
        sqlx::query::<DB>(
            "UPDATE records SET state = $2, anchored_at = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(r.id)
        .bind(r.state.clone())
        .bind(r.anchored_at.map(|t| t.to_string()))
        .bind(r.updated_at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        Self::put_events(&mut tx, r.subject, events).await?;
        Self::commit_audited(tx, audit, sealer).await
    }

    async fn record(&self, id: Uuid) -> Result<Option<Record>, StoreError> {
        self.rows_of(RECORD_BY_ID, id)
            .await?
            .first()
            .map(Self::record_of)
            .transpose()
    }

    async fn records(&self, subject: Uuid) -> Result<Vec<Record>, StoreError> {
        self.rows_of(RECORDS_OF_SUBJECT, subject)
            .await?
            .iter()
            .map(Self::record_of)
            .collect()
    }

    async fn records_by_digest(
        &self,
        kind: RecordKind,
        digest: &[u8],
    ) -> Result<Vec<Record>, StoreError> {
        let rows = sqlx::query::<DB>(RECORDS_BY_DIGEST)
            .bind(kind.as_str().to_string())
            .bind(digest.to_vec())
            .fetch_all(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        rows.iter().map(Self::record_of).collect()
    }

    async fn put_offering(&self, o: &Offering) -> Result<(), StoreError> {
        sqlx::query::<DB>(
            "INSERT INTO offerings (id, kind, level, title_ru, title_kk, title_en) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, level = excluded.level,
               title_ru = excluded.title_ru, title_kk = excluded.title_kk, title_en = excluded.title_en",
        )
        .bind(o.id.clone())
        .bind(word(&o.kind))
        .bind(word(&o.level))
        .bind(o.title_ru.clone())
        .bind(o.title_kk.clone())
        .bind(o.title_en.clone())
        .execute(&self.pool)
        .await
        .map_err(backend::<DB>)?;
        Ok(())
    }

    async fn offerings(&self) -> Result<Vec<Offering>, StoreError> {
        let rows = sqlx::query::<DB>(
            "SELECT id, kind, level, title_ru, title_kk, title_en FROM offerings ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend::<DB>)?;
        rows.iter()
            .map(|r| {
                Ok(Offering {
                    id: r.get(0),
                    kind: from_word::<DB, _>(&r.get::<String, _>(1))?,
                    level: from_word::<DB, _>(&r.get::<String, _>(2))?,
                    title_ru: r.get(3),
                    title_kk: r.get(4),
                    title_en: r.get(5),
                })
            })
            .collect()
    }

    async fn insert_notice(
        &self,
        n: &Notice,
        m: &OutboxEntry,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(n.subject)).await?;
        sqlx::query::<DB>(
            "INSERT INTO notices (id, subject_id, kind, queued_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(n.id)
        .bind(n.subject)
        .bind(n.kind.as_str().to_string())
        .bind(n.queued_at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        Self::put_message(&mut tx, m).await?;
        Self::commit_audited(tx, audit, sealer).await
    }

    async fn insert_request(
        &self,
        r: &Request,
        events: &[SealedEvent],
        code: Option<&CodeRecord>,
        message: Option<&OutboxEntry>,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(r.subject)).await?;
        sqlx::query::<DB>(
            "INSERT INTO requests (id, subject_id, right_kind, state, channel, received_at, due_on, overdue_from_us, closed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)",
        )
        .bind(r.id)
        .bind(r.subject)
        .bind(r.right.as_str().to_string())
        .bind(r.state.as_str().to_string())
        .bind(r.channel.as_str().to_string())
        .bind(r.received_at.to_string())
        .bind(r.due_on.to_string())
        .bind(r.overdue_from.as_microsecond())
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        if let Some(c) = code {
            sqlx::query::<DB>("INSERT INTO request_codes (request_id, code_digest, expires_at_us, attempts) VALUES ($1, $2, $3, 0)")
                .bind(c.request)
                .bind(c.digest.clone())
                .bind(c.expires_at.as_microsecond())
                .execute(&mut *tx)
                .await
                .map_err(backend::<DB>)?;
        }
        Self::put_events(&mut tx, r.subject, events).await?;
        if let Some(m) = message {
            Self::put_message(&mut tx, m).await?;
        }
        Self::commit_audited(tx, audit, sealer).await
    }

    async fn update_request(
        &self,
        r: &Request,
        events: &[SealedEvent],
        message: Option<&OutboxEntry>,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(r.subject)).await?;
        sqlx::query::<DB>("UPDATE requests SET state = $2, closed_at = $3 WHERE id = $1")
            .bind(r.id)
            .bind(r.state.as_str().to_string())
            .bind(r.closed_at.map(|t| t.to_string()))
            .execute(&mut *tx)
            .await
            .map_err(backend::<DB>)?;
        if r.state != RequestState::AwaitingVerification {
            sqlx::query::<DB>("DELETE FROM request_codes WHERE request_id = $1")
                .bind(r.id)
                .execute(&mut *tx)
                .await
                .map_err(backend::<DB>)?;
        }
        Self::put_events(&mut tx, r.subject, events).await?;
        if let Some(m) = message {
            Self::put_message(&mut tx, m).await?;
        }
        Self::commit_audited(tx, audit, sealer).await
    }

    async fn request(&self, id: Uuid) -> Result<Option<Request>, StoreError> {
        self.rows_of(REQUEST_BY_ID, id)
            .await?
            .first()
            .map(Self::request_of)
            .transpose()
    }

    async fn open_request(
        &self,
        subject: Uuid,
        right: RightKind,
    ) -> Result<Option<Request>, StoreError> {
        Ok(self
            .requests_of(subject)
            .await?
            .into_iter()
            .find(|r| r.right == right && r.closed_at.is_none()))
    }

    async fn open_requests(&self) -> Result<Vec<Request>, StoreError> {
        let rows = sqlx::query::<DB>(OPEN_REQUESTS)
            .fetch_all(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        rows.iter().map(Self::request_of).collect()
    }

    async fn requests_of(&self, subject: Uuid) -> Result<Vec<Request>, StoreError> {
        self.rows_of(REQUESTS_OF_SUBJECT, subject)
            .await?
            .iter()
            .map(Self::request_of)
            .collect()
    }

    async fn request_code(&self, request: Uuid) -> Result<Option<CodeRecord>, StoreError> {
        let rows = self
            .rows_of("SELECT code_digest, expires_at_us, attempts FROM request_codes WHERE request_id = $1", request)
            .await?;
        rows.first()
            .map(|r| {
                Ok(CodeRecord {
                    request,
                    digest: r.get(0),
                    expires_at: Timestamp::from_microsecond(r.get(1)).map_err(backend::<DB>)?,
                    attempts: r.get(2),
                })
            })
            .transpose()
    }

    async fn count_code_attempt(&self, request: Uuid) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        Self::exec(
            &mut tx,
            "UPDATE request_codes SET attempts = attempts + 1 WHERE request_id = $1",
            request,
        )
        .await?;
        let attempts: i64 =
            sqlx::query::<DB>("SELECT attempts FROM request_codes WHERE request_id = $1")
                .bind(request)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend::<DB>)?
                .map_or(0, |r| r.get(0));
        tx.commit().await.map_err(backend::<DB>)?;
        Ok(attempts)
    }

    async fn insert_download(
        &self,
        d: &DownloadRecord,
        message: Option<&OutboxEntry>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query::<DB>("INSERT INTO downloads (token_digest, subject_id, sealed, expires_at_us) VALUES ($1, $2, $3, $4)")
            .bind(d.digest.clone())
            .bind(d.subject)
            .bind(d.sealed.clone())
            .bind(d.expires_at.as_microsecond())
            .execute(&mut *tx)
            .await
            .map_err(backend::<DB>)?;
        if let Some(m) = message {
            Self::put_message(&mut tx, m).await?;
        }
        tx.commit().await.map_err(backend::<DB>)
    }

    async fn download(&self, digest: &[u8]) -> Result<Option<DownloadRecord>, StoreError> {
        let row = self
            .row_by_digest(
                "SELECT subject_id, sealed, expires_at_us, token_digest FROM downloads WHERE token_digest = $1",
                digest,
            )
            .await?;
        row.as_ref().map(Self::download_of).transpose()
    }

    async fn downloads_of(&self, subject: Uuid) -> Result<Vec<DownloadRecord>, StoreError> {
        let rows = self
            .rows_of(
                "SELECT subject_id, sealed, expires_at_us, token_digest FROM downloads WHERE subject_id = $1 ORDER BY expires_at_us",
                subject,
            )
            .await?;
        rows.iter().map(Self::download_of).collect()
    }

    async fn enqueue(&self, message: &OutboxEntry) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let written = Self::put_message(&mut tx, message).await?;
        tx.commit().await.map_err(backend::<DB>)?;
        Ok(written)
    }

    async fn claim_outbox(
        &self,
        now: Timestamp,
        lease: Timestamp,
        limit: i64,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut tx = self.begin().await?;
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT id, subject_id, kind, message_id, sealed, state, attempts, next_attempt_us, created_at FROM outbox
             WHERE (state = 'pending' AND next_attempt_us <= $1) OR (state = 'sending' AND claimed_until_us < $1)
             ORDER BY next_attempt_us LIMIT $2{}",
            DB::LOCK_CLAIMED
        ));
        let rows = sqlx::query::<DB>(sql)
            .bind(now.as_microsecond())
            .bind(limit)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend::<DB>)?;
        let mut claimed = Vec::with_capacity(rows.len());
        for r in &rows {
            let state: String = r.get(5);
            let entry = OutboxEntry {
                id: r.get(0),
                subject: r.get(1),
                kind: r.get(2),
                message_id: r.get(3),
                sealed: r.get(4),
                state: OutboxState::parse(&state)
                    .ok_or_else(|| backend::<DB>(format!("unknown outbox state `{state}`")))?,
                attempts: r.get(6),
                next_attempt_at: Timestamp::from_microsecond(r.get(7)).map_err(backend::<DB>)?,
                created_at: time::<DB>(&r.get::<String, _>(8))?,
            };
            sqlx::query::<DB>(
                "UPDATE outbox SET state = 'sending', claimed_until_us = $2 WHERE id = $1",
            )
            .bind(entry.id)
            .bind(lease.as_microsecond())
            .execute(&mut *tx)
            .await
            .map_err(backend::<DB>)?;
            claimed.push(entry);
        }
        tx.commit().await.map_err(backend::<DB>)?;
        Ok(claimed)
    }

    async fn finish_outbox(
        &self,
        id: Uuid,
        state: OutboxState,
        attempts: i64,
        next_attempt_at: Timestamp,
        purge: bool,
    ) -> Result<(), StoreError> {
        let sql = if purge {
            "UPDATE outbox SET state = $2, attempts = $3, next_attempt_us = $4, sealed = NULL, sent_at = $5, claimed_until_us = NULL WHERE id = $1"
        } else {
            "UPDATE outbox SET state = $2, attempts = $3, next_attempt_us = $4, claimed_until_us = NULL WHERE id = $1 AND $5 = $5"
        };
        sqlx::query::<DB>(sql)
            .bind(id)
            .bind(state.as_str().to_string())
            .bind(attempts)
            .bind(next_attempt_at.as_microsecond())
            .bind(next_attempt_at.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        if purge {
            DB::scrub(&self.pool).await.map_err(backend::<DB>)?;
        }
        Ok(())
    }

    async fn outbox_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows =
            sqlx::query::<DB>("SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state")
                .fetch_all(&self.pool)
                .await
                .map_err(backend::<DB>)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn notices(&self, subject: Uuid) -> Result<Vec<Notice>, StoreError> {
        let rows = self
            .rows_of("SELECT id, subject_id, kind, queued_at FROM notices WHERE subject_id = $1 ORDER BY id", subject)
            .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.get(2);
                Ok(Notice {
                    id: r.get(0),
                    subject: r.get(1),
                    kind: NoticeKind::parse(&kind)
                        .ok_or_else(|| backend::<DB>(format!("unknown notice kind `{kind}`")))?,
                    queued_at: time::<DB>(&r.get::<String, _>(3))?,
                })
            })
            .collect()
    }

    async fn subject_ids(&self, after: Option<Uuid>, limit: i64) -> Result<Vec<Uuid>, StoreError> {
        let rows = match after {
            Some(after) => {
                sqlx::query::<DB>("SELECT id FROM subjects WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(after)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
            }
            None => {
                sqlx::query::<DB>("SELECT id FROM subjects ORDER BY id LIMIT $1")
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(backend::<DB>)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn audit_page(&self, after: i64, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query::<DB>(sqlx::AssertSqlSafe(format!(
            "{AUDIT} WHERE seq > $1 ORDER BY seq LIMIT $2"
        )))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(backend::<DB>)?;
        rows.iter().map(Self::audit_record_of).collect()
    }

    async fn audit_of(&self, subject: Uuid) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = self
            .rows_of(
                &format!("{AUDIT} WHERE subject_id = $1 ORDER BY seq"),
                subject,
            )
            .await?;
        rows.iter().map(Self::audit_record_of).collect()
    }

    async fn inventory(
        &self,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Inventory>, StoreError> {
        let lo = after.unwrap_or(Uuid::nil());
        let ids: Vec<Uuid> =
            sqlx::query::<DB>("SELECT id FROM subjects WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(lo)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(backend::<DB>)?
                .iter()
                .map(|r| r.get(0))
                .collect();
        let Some(&hi) = ids.last() else {
            return Ok(vec![]);
        };
        let mut page: BTreeMap<Uuid, Inventory> = ids
            .iter()
            .map(|&subject| {
                (
                    subject,
                    Inventory {
                        subject,
                        values: vec![],
                        events: vec![],
                        records: vec![],
                        requests: vec![],
                        bases: vec![],
                        consents: vec![],
                        account: None,
                    },
                )
            })
            .collect();
        // Each table once for the whole page: the subjects' ids are a contiguous range.
        // Within a subject, rows come in the order they were written (`then`): the ledgers
        // (bases, consents) are read as histories, and equal timestamps must not reorder them.
        let range = |select: &str, subject_column: usize, then: &str| {
            let sql = format!(
                "{select} WHERE subject_id > $1 AND subject_id <= $2 ORDER BY subject_id, {then}"
            );
            async move {
                let rows = sqlx::query::<DB>(sqlx::AssertSqlSafe(sql))
                    .bind(lo)
                    .bind(hi)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend::<DB>)?;
                Ok::<_, StoreError>(
                    rows.into_iter()
                        .map(|r| (r.get::<Uuid, _>(subject_column), r))
                        .collect::<Vec<_>>(),
                )
            }
        };
        for (subject, r) in range(
            "SELECT field, key_class, collected_at, subject_id FROM pd_values",
            3,
            "field",
        )
        .await?
        {
            if let Some(inv) = page.get_mut(&subject) {
                inv.values.push(ValueMeta {
                    field: r.get(0),
                    key_class: r.get(1),
                    collected_at: time::<DB>(&r.get::<String, _>(2))?,
                });
            }
        }
        for (subject, r) in range(
            "SELECT id, category, key_class, collected_at, record_id, subject_id FROM pd_events",
            5,
            "id",
        )
        .await?
        {
            if let Some(inv) = page.get_mut(&subject) {
                inv.events.push(EventMeta {
                    id: r.get(0),
                    category: r.get(1),
                    key_class: r.get(2),
                    collected_at: time::<DB>(&r.get::<String, _>(3))?,
                    record: r.get(4),
                });
            }
        }
        for (subject, r) in range(RECORDS, 1, "id").await? {
            if let Some(inv) = page.get_mut(&subject) {
                inv.records.push(Self::record_of(&r)?);
            }
        }
        for (subject, r) in range(REQUESTS, 1, "id").await? {
            if let Some(inv) = page.get_mut(&subject) {
                inv.requests.push(Self::request_of(&r)?);
            }
        }
        for (subject, r) in range(BASES, 4, "id").await? {
            if let Some(inv) = page.get_mut(&subject) {
                inv.bases.push(Self::basis_of(&r)?);
            }
        }
        for (subject, r) in range(CONSENTS, 7, "id").await? {
            if let Some(inv) = page.get_mut(&subject) {
                inv.consents.push(Self::consent_of(&r)?);
            }
        }
        for (subject, r) in range(ACCOUNTS, 5, "subject_id").await? {
            if let Some(inv) = page.get_mut(&subject) {
                inv.account = Some(Self::account_of(&r)?);
            }
        }
        // Within a subject, events and ledgers in the order they were written.
        let mut page: Vec<Inventory> = page.into_values().collect();
        for inv in &mut page {
            inv.events.sort_by_key(|e| e.id);
            inv.records.sort_by_key(|r| r.id);
            inv.requests.sort_by_key(|r| r.id);
        }
        Ok(page)
    }

    async fn expire(
        &self,
        expiry: &Expiry,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let id = expiry.subject;
        let mut tx = self.open_write(Some(id)).await?;
        if !expiry.events.is_empty() {
            let ids: Vec<String> = expiry.events.iter().map(Uuid::to_string).collect();
            sqlx::query::<DB>(DB::DELETE_EVENTS)
                .bind(id)
                .bind(serde_json::to_string(&ids).expect("strings serialize"))
                .execute(&mut *tx)
                .await
                .map_err(backend::<DB>)?;
        }
        for field in &expiry.fields {
            for sql in [
                "DELETE FROM blind_index WHERE subject_id = $1 AND field = $2",
                "DELETE FROM pd_values WHERE subject_id = $1 AND field = $2",
            ] {
                sqlx::query::<DB>(sql)
                    .bind(id)
                    .bind(field.clone())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend::<DB>)?;
            }
        }
        for record in &expiry.records {
            for sql in [
                "DELETE FROM pd_events WHERE record_id = $1",
                "DELETE FROM records WHERE id = $1",
            ] {
                Self::exec(&mut tx, sql, *record).await?;
            }
        }
        for request in &expiry.requests {
            for sql in [
                "DELETE FROM pd_events WHERE record_id = $1",
                "DELETE FROM request_codes WHERE request_id = $1",
                "DELETE FROM requests WHERE id = $1",
            ] {
                Self::exec(&mut tx, sql, *request).await?;
            }
        }
        if expiry.whole_subject {
            Self::delete_subject(&mut tx, id, &mut ErasureCounts::default()).await?;
        }
        Self::put_receipt(&mut tx, expiry.receipt.as_ref()).await?;
        Self::commit_audited(tx, audit, sealer).await
    }

    async fn scrub(&self) -> Result<(), StoreError> {
        DB::scrub(&self.pool).await.map_err(backend::<DB>)
    }

    async fn leftovers(
        &self,
        now: Timestamp,
        logs_cutoff: Timestamp,
        count_only: bool,
    ) -> Result<Leftovers, StoreError> {
        Ok(Leftovers {
            sessions: self
                .stale::<Vec<u8>>(
                    "SELECT token_digest, expires_at FROM sessions",
                    "DELETE FROM sessions WHERE token_digest = $1",
                    now,
                    count_only,
                )
                .await?,
            password_resets: self
                .stale::<Vec<u8>>(
                    "SELECT token_digest, COALESCE(used_at, expires_at) FROM password_resets",
                    "DELETE FROM password_resets WHERE token_digest = $1",
                    now,
                    count_only,
                )
                .await?,
            downloads: self
                .stale::<Vec<u8>>(
                    "SELECT token_digest, expires_at_us FROM downloads",
                    "DELETE FROM downloads WHERE token_digest = $1",
                    now,
                    count_only,
                )
                .await?,
            outbox: self
                .stale::<Uuid>(
                    "SELECT id, created_at FROM outbox WHERE state IN ('sent', 'failed')",
                    "DELETE FROM outbox WHERE id = $1",
                    logs_cutoff,
                    count_only,
                )
                .await?,
            notices: self
                .stale::<Uuid>(
                    "SELECT id, queued_at FROM notices",
                    "DELETE FROM notices WHERE id = $1",
                    logs_cutoff,
                    count_only,
                )
                .await?,
        })
    }

    async fn prune_audit(&self, through: i64, limit: i64) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query::<DB>(
            "DELETE FROM audit_log WHERE seq IN (SELECT seq FROM audit_log WHERE seq <= $1 ORDER BY seq LIMIT $2)",
        )
        .bind(through)
        .bind(limit)
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        tx.commit().await.map_err(backend::<DB>)?;
        Ok(DB::rows_affected(&done))
    }

    async fn append_hold(
        &self,
        event: &HoldEvent,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(None).await?;
        sqlx::query::<DB>(
            "INSERT INTO legal_holds (hold_id, action, subject_id, categories, reference, until, actor, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(event.hold)
        .bind(event.action.as_str().to_string())
        .bind(event.subject)
        .bind(serde_json::to_string(&event.categories).expect("strings serialize"))
        .bind(event.reference.clone())
        .bind(event.until.map(|t| t.to_string()))
        .bind(event.actor.clone())
        .bind(event.at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        Self::commit_audited(tx, audit, sealer).await
    }

    async fn hold_events(&self) -> Result<Vec<HoldEvent>, StoreError> {
        let rows = sqlx::query::<DB>(
            "SELECT hold_id, action, subject_id, categories, reference, until, actor, at
             FROM legal_holds ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend::<DB>)?;
        rows.iter()
            .map(|r| {
                let action: String = r.get(1);
                Ok(HoldEvent {
                    hold: r.get(0),
                    action: HoldAction::parse(&action)
                        .ok_or_else(|| backend::<DB>(format!("unknown hold action `{action}`")))?,
                    subject: r.get(2),
                    categories: serde_json::from_str(&r.get::<String, _>(3))
                        .map_err(backend::<DB>)?,
                    reference: r.get(4),
                    until: r
                        .get::<Option<String>, _>(5)
                        .as_deref()
                        .map(time::<DB>)
                        .transpose()?,
                    actor: r.get(6),
                    at: time::<DB>(&r.get::<String, _>(7))?,
                })
            })
            .collect()
    }

    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query::<DB>(
            "INSERT INTO leases (name, holder, until_us) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_us = excluded.until_us
             WHERE leases.until_us <= $4",
        )
        .bind(name.to_string())
        .bind(holder.to_string())
        .bind(until.as_microsecond())
        .bind(now.as_microsecond())
        .execute(&self.pool)
        .await
        .map_err(backend::<DB>)?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query::<DB>("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name.to_string())
            .bind(holder.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        Ok(())
    }

    async fn mark_idle_notice(&self, subject: Uuid, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query::<DB>("UPDATE accounts SET idle_notice_at = $2 WHERE subject_id = $1")
            .bind(subject)
            .bind(at.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        Ok(())
    }

    async fn set_access_digest(
        &self,
        subject: Uuid,
        since: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        sqlx::query::<DB>("UPDATE accounts SET access_digest_since = $2 WHERE subject_id = $1")
            .bind(subject)
            .bind(since.map(|t| t.to_string()))
            .execute(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        Ok(())
    }

    async fn mark_access_digest(&self, subject: Uuid, month: &str) -> Result<(), StoreError> {
        sqlx::query::<DB>("UPDATE accounts SET access_digest_month = $2 WHERE subject_id = $1")
            .bind(subject)
            .bind(month.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        Ok(())
    }

    async fn access_digest(&self, subject: Uuid) -> Result<Option<Timestamp>, StoreError> {
        let since: Option<Option<String>> = sqlx::query_scalar::<DB, Option<String>>(
            "SELECT access_digest_since FROM accounts WHERE subject_id = $1",
        )
        .bind(subject)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend::<DB>)?;
        since.flatten().map(|t| time::<DB>(&t)).transpose()
    }

    async fn access_digests_due(
        &self,
        month: &str,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Uuid>, StoreError> {
        sqlx::query_scalar::<DB, Uuid>(
            "SELECT subject_id FROM accounts
             WHERE access_digest_since IS NOT NULL AND status = 'active'
               AND (access_digest_month IS NULL OR access_digest_month < $3)
               AND subject_id > $1
             ORDER BY subject_id LIMIT $2",
        )
        // The nil id sorts first on both backends.
        .bind(after.unwrap_or(Uuid::nil()))
        .bind(limit)
        .bind(month.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(backend::<DB>)
    }

    async fn put_staff(
        &self,
        staff: &StaffRecord,
        audit: Option<&AuditDraft>,
        sealer: &ChainSealer<'_>,
    ) -> Result<Option<ChainHead>, StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query::<DB>(
            "INSERT INTO staff (id, login, role, password_hash, totp_sealed, totp_last_step,
                 enrollment_digest, enrollment_expires, failed_attempts, locked_until, active, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (id) DO UPDATE SET login = excluded.login, role = excluded.role,
                 password_hash = excluded.password_hash, totp_sealed = excluded.totp_sealed,
                 totp_last_step = excluded.totp_last_step, enrollment_digest = excluded.enrollment_digest,
                 enrollment_expires = excluded.enrollment_expires, failed_attempts = excluded.failed_attempts,
                 locked_until = excluded.locked_until, active = excluded.active",
        )
        .bind(staff.id)
        .bind(staff.login.clone())
        .bind(staff.role.as_str().to_string())
        .bind(staff.password_hash.clone())
        .bind(staff.totp_sealed.clone())
        .bind(staff.totp_last_step)
        .bind(staff.enrollment_digest.clone())
        .bind(staff.enrollment_expires.map(|t| t.to_string()))
        .bind(staff.failed_attempts)
        .bind(staff.locked_until.map(|t| t.to_string()))
        .bind(i64::from(staff.active))
        .bind(staff.created_at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        match audit {
            Some(audit) => Self::commit_audited(tx, audit, sealer).await.map(Some),
            None => {
                tx.commit().await.map_err(backend::<DB>)?;
                Ok(None)
            }
        }
    }

    async fn find_staff(&self, by: StaffLookup<'_>) -> Result<Option<StaffRecord>, StoreError> {
        let query = match by {
            StaffLookup::Id(id) => {
                sqlx::query::<DB>(sqlx::AssertSqlSafe(format!("{STAFF} WHERE id = $1"))).bind(id)
            }
            StaffLookup::Login(login) => {
                sqlx::query::<DB>(sqlx::AssertSqlSafe(format!("{STAFF} WHERE login = $1")))
                    .bind(login.to_string())
            }
            StaffLookup::Enrollment(digest) => sqlx::query::<DB>(sqlx::AssertSqlSafe(format!(
                "{STAFF} WHERE enrollment_digest = $1"
            )))
            .bind(digest.to_vec()),
        };
        let row = query
            .fetch_optional(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        row.as_ref().map(Self::staff_of).transpose()
    }

    async fn all_staff(&self) -> Result<Vec<StaffRecord>, StoreError> {
        let rows = sqlx::query::<DB>(sqlx::AssertSqlSafe(format!(
            "{STAFF} ORDER BY created_at, id"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(backend::<DB>)?;
        rows.iter().map(Self::staff_of).collect()
    }

    async fn insert_staff_session(&self, session: &StaffSessionRecord) -> Result<(), StoreError> {
        sqlx::query::<DB>(
            "INSERT INTO staff_sessions (token_digest, staff_id, created_at, last_seen_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(session.token_digest.clone())
        .bind(session.staff)
        .bind(session.created_at.to_string())
        .bind(session.last_seen_at.to_string())
        .execute(&self.pool)
        .await
        .map_err(backend::<DB>)?;
        Ok(())
    }

    async fn staff_session(
        &self,
        token_digest: &[u8],
    ) -> Result<Option<StaffSessionRecord>, StoreError> {
        let row = self
            .row_by_digest(
                "SELECT staff_id, created_at, last_seen_at FROM staff_sessions WHERE token_digest = $1",
                token_digest,
            )
            .await?;
        row.map(|r| {
            Ok(StaffSessionRecord {
                token_digest: token_digest.to_vec(),
                staff: r.get(0),
                created_at: time::<DB>(&r.get::<String, _>(1))?,
                last_seen_at: time::<DB>(&r.get::<String, _>(2))?,
            })
        })
        .transpose()
    }

    async fn touch_staff_session(
        &self,
        token_digest: &[u8],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query::<DB>("UPDATE staff_sessions SET last_seen_at = $2 WHERE token_digest = $1")
            .bind(token_digest.to_vec())
            .bind(at.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        Ok(())
    }

    async fn delete_staff_sessions(
        &self,
        staff: Option<Uuid>,
        token_digest: Option<&[u8]>,
    ) -> Result<u64, StoreError> {
        self.end_sessions("staff_sessions", "staff_id", staff, token_digest)
            .await
    }

    async fn append_ledger(
        &self,
        entry: &LedgerEntry,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(None).await?;
        sqlx::query::<DB>(
            "INSERT INTO ledger (book, entity, at, actor, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(entry.book.clone())
        .bind(entry.entity)
        .bind(entry.at.to_string())
        .bind(entry.actor.clone())
        .bind(entry.body.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        Self::commit_audited(tx, audit, sealer).await
    }

    async fn ledger(
        &self,
        book: &str,
        entity: Option<Uuid>,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        const LEDGER: &str = "SELECT book, entity, at, actor, body FROM ledger WHERE book = $1";
        let query = match entity {
            Some(id) => sqlx::query::<DB>(sqlx::AssertSqlSafe(format!(
                "{LEDGER} AND entity = $2 ORDER BY seq"
            )))
            .bind(book.to_string())
            .bind(id),
            None => sqlx::query::<DB>(sqlx::AssertSqlSafe(format!("{LEDGER} ORDER BY seq")))
                .bind(book.to_string()),
        };
        let rows = query.fetch_all(&self.pool).await.map_err(backend::<DB>)?;
        rows.iter()
            .map(|r| {
                Ok(LedgerEntry {
                    book: r.get(0),
                    entity: r.get(1),
                    at: time::<DB>(&r.get::<String, _>(2))?,
                    actor: r.get(3),
                    body: serde_json::from_str(&r.get::<String, _>(4)).map_err(backend::<DB>)?,
                })
            })
            .collect()
    }

    async fn schema(&self) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        let rows = sqlx::query::<DB>(DB::SCHEMA)
            .fetch_all(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        let mut schema: Vec<(String, Vec<String>)> = Vec::new();
        for row in rows {
            let (table, column): (String, String) = (row.get(0), row.get(1));
            match schema.last_mut() {
                Some((t, cols)) if *t == table => cols.push(column),
                _ => schema.push((table, vec![column])),
            }
        }
        Ok(schema)
    }
}
