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
use vintrova_core::audit::{AuditDraft, AuditRecord, ChainSealer, parse_categories};
use vintrova_core::consent::{Channel, ConsentAction, ConsentEvent};
use vintrova_core::gate::{BasisEvent, BasisEventKind};
use vintrova_core::holds::{HoldAction, HoldEvent};
use vintrova_core::learning::Offering;
use vintrova_core::ledger::LedgerEntry;
use vintrova_core::notifications::{Notice, NoticeKind};
use vintrova_core::outbox::{OutboxEntry, OutboxState};
use vintrova_core::records::{Record, RecordKind};
use vintrova_core::requests::{
    AnswerChannel, CodeRecord, DownloadRecord, LetterRecord, Request, RequestState,
};
use vintrova_core::rights::RightKind;
use vintrova_core::staff::{Role, StaffLookup, StaffRecord, StaffSessionRecord};
use vintrova_core::store::{
    AccountStore, AuditStore, ChainHead, Dropped, ErasureCounts, ErasurePlan, EventHead, EventMeta,
    Expiry, IndexEntry, Inventory, LeaseStore, LedgerStore, Leftovers, MonthStore, NewSubject,
    OutboxStore, ReceiptRecord, Receipted, RecordStore, RequestStore, RetentionStore, SealedEvent,
    SealedValue, StaffStore, Store, StoreError, SubjectRecord, SubjectStore, ValueMeta,
    WebhookStore,
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
    /// Run after keys are destroyed, so their wrapped bytes leave the table's live pages at
    /// once rather than when autovacuum comes by; `None` where the scrub already does.
    const VACUUM_KEYS: Option<&'static str>;
    /// Appended to the outbox claim query: row locks that let concurrent workers skip each
    /// other's claims (empty where the write transaction already serializes them).
    const LOCK_CLAIMED: &'static str;
    /// Rows of (table, column) of the data store, ordered, without the migrations table.
    const SCHEMA: &'static str;
    /// Delete a subject's (`$1`) events whose ids are in a JSON array of UUID strings (`$2`):
    /// one statement per batch instead of one per row.
    const DELETE_EVENTS: &'static str;
    /// Events are filed in a partition per month of collection (see `months`).
    const EVENT_MONTHS: bool;

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
const LETTERS: &str =
    "SELECT id, sealed, code_digest, expires_at_us, attempts, received_at FROM letters";
/// `head`, then `rows` groups of `columns` numbered parameters, then `tail`: one statement for
/// many rows, so a write costs a round trip per table rather than per row.
fn rows_sql(head: &str, columns: usize, rows: usize, tail: &str) -> String {
    let mut sql = String::with_capacity(head.len() + tail.len() + rows * columns * 5);
    sql.push_str(head);
    for row in 0..rows {
        sql.push_str(if row == 0 { " (" } else { ", (" });
        for col in 1..=columns {
            if col > 1 {
                sql.push(',');
            }
            sql.push_str(&format!("${}", row * columns + col));
        }
        sql.push(')');
    }
    sql.push_str(tail);
    sql
}

/// Rows per multi-row insert: a few hundred parameters, far inside both backends' limits.
const BATCH_ROWS: usize = 50;

/// Audit entries per insert statement: ten parameters each, far inside both backends' limits.
const AUDIT_ROWS: usize = 100;
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
const CLOSED_REQUESTS: &str = concat!(
    requests!(),
    " WHERE closed_at IS NOT NULL ORDER BY closed_at DESC, id DESC LIMIT 100"
);
const OPEN_REQUESTS: &str = concat!(
    requests!(),
    " WHERE closed_at IS NULL ORDER BY overdue_from_us, id"
);

/// The data store on any [`Dialect`].
pub struct SqlStore<DB: Database> {
    pool: Pool<DB>,
    /// Where writes go. On SQLite, which takes one writer at a time, a pool of one connection:
    /// writers queue for it first come, first served, instead of polling the file's lock with
    /// SQLite's growing sleeps — which a writer that commits and begins again at once (the
    /// sweep) wins every time, starving the others. Elsewhere the same pool as reads.
    writer: Pool<DB>,
    /// On SQLite with a file, a person's hot reads go through here (see [`cells`]).
    readers: Option<std::sync::Arc<sqlite::Readers>>,
}

impl<DB: Database> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        SqlStore {
            pool: self.pool.clone(),
            writer: self.writer.clone(),
            readers: self.readers.clone(),
        }
    }
}

impl<DB: Database> SqlStore<DB> {
    pub fn new(pool: Pool<DB>) -> Self {
        SqlStore {
            writer: pool.clone(),
            pool,
            readers: None,
        }
    }

    /// Send writes through `writer` instead of the pool reads use.
    pub fn with_writer(self, writer: Pool<DB>) -> Self {
        SqlStore { writer, ..self }
    }

    /// Send a person's hot reads through `readers` (SQLite with a file).
    fn with_readers(self, readers: Option<std::sync::Arc<sqlite::Readers>>) -> Self {
        SqlStore { readers, ..self }
    }

    /// The pool, for tests that tamper with the database like an attacker would.
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }
}

/// The bounds every impl of [`SqlStore`] shares — what its queries need of a backend's types —
/// written once: `sql_impl!((header) { items })` puts them after `header`.
macro_rules! sql_impl {
    (($($header:tt)*) { $($item:item)* }) => {
        $($header)*
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
            $($item)*
        }
    };
}

/// One port of [`SqlStore`], with the shared bounds.
macro_rules! sql_port {
    ($port:path { $($item:item)* }) => {
        sql_impl!((#[async_trait::async_trait] impl<DB> $port for SqlStore<DB>) { $($item)* });
    };
}

sql_impl!((impl<DB> SqlStore<DB>) {
    async fn begin(&self) -> Result<sqlx::Transaction<'static, DB>, StoreError> {
        self.writer
            .begin_with(DB::BEGIN_WRITE)
            .await
            .map_err(backend::<DB>)
    }

    /// Count a wrong try of a one-time code (`bump`), and return the tries so far (`read`).
    async fn count_attempt(
        &self,
        bump: &'static str,
        read: &'static str,
        id: Uuid,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        Self::exec(&mut tx, bump, id).await?;
        let attempts: i64 = sqlx::query::<DB>(read)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend::<DB>)?
            .map_or(0, |r| r.get(0));
        tx.commit().await.map_err(backend::<DB>)?;
        Ok(attempts)
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

    /// A new subject with everything collected with it.
    async fn put_subject(conn: &mut DB::Connection, new: &NewSubject) -> Result<(), StoreError> {
        let id = new.subject.id;
        let inserted = sqlx::query::<DB>(
            "INSERT INTO subjects (id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(new.subject.created_at.to_string())
        .execute(&mut *conn)
        .await
        .map_err(backend::<DB>)?;
        if DB::rows_affected(&inserted) == 0 {
            return Err(StoreError::DuplicateSubject(id));
        }
        Self::put_joining(conn, new).await
    }

    /// A person's data, bases and consents, under the id `new` names (which exists).
    async fn put_joining(conn: &mut DB::Connection, new: &NewSubject) -> Result<(), StoreError> {
        let id = new.subject.id;
        Self::put_values(conn, id, &new.values, &new.index).await?;
        Self::put_events(conn, id, &new.events).await?;
        for event in &new.bases {
            Self::put_basis_event(conn, id, event).await?;
        }
        Self::put_consents(conn, id, &new.consents).await
    }

    async fn put_account(
        conn: &mut DB::Connection,
        account: &AccountRecord,
    ) -> Result<(), StoreError> {
        sqlx::query::<DB>("INSERT INTO accounts (subject_id, password_hash, status, created_at) VALUES ($1, $2, $3, $4)")
            .bind(account.subject)
            .bind(account.password_hash.clone())
            .bind(account.status.as_str().to_string())
            .bind(account.created_at.to_string())
            .execute(&mut *conn)
            .await
            .map_err(backend::<DB>)?;
        Ok(())
    }

    /// A new request row, with its code when it waits for one.
    async fn put_request(
        conn: &mut DB::Connection,
        r: &Request,
        code: Option<&CodeRecord>,
    ) -> Result<(), StoreError> {
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
        .execute(&mut *conn)
        .await
        .map_err(backend::<DB>)?;
        if let Some(c) = code {
            sqlx::query::<DB>("INSERT INTO request_codes (request_id, code_digest, expires_at_us, attempts, subject_id) VALUES ($1, $2, $3, 0, $4)")
                .bind(c.request)
                .bind(c.digest.clone())
                .bind(c.expires_at.as_microsecond())
                .bind(r.subject)
                .execute(&mut *conn)
                .await
                .map_err(backend::<DB>)?;
        }
        Ok(())
    }

    /// The subject is there to be written to: it exists, and no erasure of it is underway (a
    /// write then would add to what is being erased).
    async fn subject_exists(conn: &mut DB::Connection, id: Uuid) -> Result<(), StoreError> {
        let found = sqlx::query::<DB>(
            "SELECT 1 FROM subjects WHERE id = $1
             AND NOT EXISTS (SELECT 1 FROM erasures_underway WHERE subject_id = $1)",
        )
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
        for chunk in values.chunks(BATCH_ROWS) {
            let sql = rows_sql(
                "INSERT INTO pd_values (subject_id, field, key_class, sealed, source, collected_at) VALUES",
                6,
                chunk.len(),
                " ON CONFLICT (subject_id, field) DO UPDATE SET key_class = excluded.key_class,
                   sealed = excluded.sealed, source = excluded.source, collected_at = excluded.collected_at",
            );
            let mut insert = sqlx::query::<DB>(sqlx::AssertSqlSafe(sql));
            for v in chunk {
                insert = insert
                    .bind(id)
                    .bind(v.field.clone())
                    .bind(v.key_class.clone())
                    .bind(v.sealed.clone())
                    .bind(v.source.clone())
                    .bind(v.collected_at.to_string());
            }
            insert.execute(&mut *conn).await.map_err(backend::<DB>)?;
            // A new value of an indexed field replaces its old digest.
            let fields: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "DELETE FROM blind_index WHERE subject_id = $1 AND field IN ({})",
                fields.join(",")
            );
            let mut delete = sqlx::query::<DB>(sqlx::AssertSqlSafe(sql)).bind(id);
            for v in chunk {
                delete = delete.bind(v.field.clone());
            }
            delete.execute(&mut *conn).await.map_err(backend::<DB>)?;
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
            // The one-address index: another person holds this value (a race core's check lost).
            .map_err(|e| match e.as_database_error() {
                Some(d) if d.is_unique_violation() => StoreError::Taken(entry.field.clone()),
                _ => backend::<DB>(e),
            })?;
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
        Self::put_consents(conn, id, std::slice::from_ref(e)).await
    }

    /// Consent events of one person, in one statement per batch.
    async fn put_consents(
        conn: &mut DB::Connection,
        id: Uuid,
        events: &[ConsentEvent],
    ) -> Result<(), StoreError> {
        for chunk in events.chunks(BATCH_ROWS) {
            let sql = rows_sql(
                "INSERT INTO consent_events (subject_id, purpose, action, policy_version, channel, evidence, terms, at) VALUES",
                8,
                chunk.len(),
                "",
            );
            let mut insert = sqlx::query::<DB>(sqlx::AssertSqlSafe(sql));
            for e in chunk {
                let terms = serde_json::to_string(&e.terms).map_err(backend::<DB>)?;
                insert = insert
                    .bind(id)
                    .bind(e.purpose.clone())
                    .bind(e.action.as_str().to_string())
                    .bind(e.policy_version.clone())
                    .bind(e.channel.as_str().to_string())
                    .bind(e.evidence.clone())
                    .bind(terms)
                    .bind(e.at.to_string());
            }
            insert.execute(&mut *conn).await.map_err(backend::<DB>)?;
        }
        Ok(())
    }

    async fn put_events(
        conn: &mut DB::Connection,
        id: Uuid,
        events: &[SealedEvent],
    ) -> Result<(), StoreError> {
        for chunk in events.chunks(BATCH_ROWS) {
            let sql = rows_sql(
                "INSERT INTO pd_events (id, subject_id, category, key_class, sealed, source, collected_at, record_id) VALUES",
                8,
                chunk.len(),
                "",
            );
            let mut insert = sqlx::query::<DB>(sqlx::AssertSqlSafe(sql));
            for e in chunk {
                insert = insert
                    .bind(e.id)
                    .bind(id)
                    .bind(e.category.clone())
                    .bind(e.key_class.clone())
                    .bind(e.sealed.clone())
                    .bind(e.source.clone())
                    .bind(e.collected_at.to_string())
                    .bind(e.record);
            }
            insert.execute(&mut *conn).await.map_err(backend::<DB>)?;
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
        Self::exec(&mut *tx, "DELETE FROM languages WHERE subject_id = $1", id).await?;
        Self::exec(&mut *tx, "DELETE FROM expired_by_month WHERE subject_id = $1", id).await?;
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

    /// Link `entries` after the log's tail, in order, and insert them: one statement per
    /// `AUDIT_ROWS` entries. Returns the new head.
    async fn put_audit(
        conn: &mut DB::Connection,
        entries: &[AuditDraft],
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
        // Never build on a tail short of the durable head: that would launder a cut. A log
        // emptied by pruning continues after what was pruned, never from the genesis again.
        let last: Option<(i64, Vec<u8>)> = last.map(|row| (row.get(0), row.get(1)));
        sealer.check_tail(last.as_ref().map(|(seq, hash)| (*seq, hash.as_slice())))?;
        let (mut seq, mut prev) = last.unwrap_or_else(|| sealer.start());
        for chunk in entries.chunks(AUDIT_ROWS) {
            let sql = rows_sql(
                "INSERT INTO audit_log (seq, at, actor, action, subject_id, categories, purpose, prev_hash, hash, stated_purpose) VALUES",
                10,
                chunk.len(),
                "",
            );
            let mut insert = sqlx::query::<DB>(sqlx::AssertSqlSafe(sql));
            for draft in chunk {
                seq += 1;
                let hash = sealer.link(&prev, seq, draft).to_vec();
                insert = insert
                    .bind(seq)
                    .bind(draft.at.to_string())
                    .bind(draft.actor.clone())
                    .bind(draft.action.clone())
                    .bind(draft.subject)
                    .bind(draft.categories_column())
                    .bind(draft.purpose.clone())
                    .bind(std::mem::replace(&mut prev, hash.clone()))
                    .bind(hash)
                    .bind(draft.stated_purpose.clone());
            }
            insert.execute(&mut *conn).await.map_err(backend::<DB>)?;
        }
        // The events the entries tell, numbered by their entries: the lock that orders the
        // chain orders them, so a person's events are numbered in the order of the commits.
        let first = seq - entries.len() as i64;
        for (i, draft) in entries.iter().enumerate() {
            if let Some(event) = &draft.event {
                Self::put_event(&mut *conn, first + 1 + i as i64, draft.at, event).await?;
            }
        }
        Ok((seq, prev))
    }

    /// All rows of `sql` for one subject (bound as `$1`).
    async fn rows_of(&self, sql: &str, id: Uuid) -> Result<Vec<DB::Row>, StoreError> {
        Self::person_query(sql, id, &[])
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

    fn letter_of(r: &DB::Row) -> Result<LetterRecord, StoreError> {
        let id: Uuid = r.get(0);
        Ok(LetterRecord {
            id,
            sealed: r.get(1),
            code: CodeRecord {
                request: id,
                digest: r.get(2),
                expires_at: Timestamp::from_microsecond(r.get(3)).map_err(backend::<DB>)?,
                attempts: r.get(4),
            },
            received_at: time::<DB>(&r.get::<String, _>(5))?,
        })
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
                event: None,
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
                .execute(&self.writer)
                .await
            }
            (None, Some(digest)) => {
                sqlx::query::<DB>(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE token_digest = $1"
                )))
                .bind(digest.to_vec())
                .execute(&self.writer)
                .await
            }
            (None, None) => return Ok(0),
        }
        .map_err(backend::<DB>)?;
        Ok(DB::rows_affected(&done))
    }

    /// Append the audit entry of the change and commit both together.
    async fn commit_audited(
        mut tx: Transaction<'static, DB>,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let head = Self::put_audit(&mut tx, std::slice::from_ref(audit), sealer).await?;
        tx.commit().await.map_err(backend::<DB>)?;
        Ok(head)
    }
});

// The ports, one file each; after the macro they use.
mod accounts;
mod audit;
mod cells;
mod inbox;
mod leases;
mod ledgers;
mod months;
mod outbox;
mod records;
mod requests;
mod retention;
mod staff;
mod subjects;
mod webhooks;

sql_port!(Store {
    fn backend(&self) -> &'static str {
        DB::BACKEND
    }


    fn parallel_writers(&self) -> usize {
        DB::PARALLEL_WRITERS
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
});
