//! The embedded default: the storage ports on SQLite.
//!
//! Lives here: the SQLite implementations of core's `Store` and the vault's `KeyStore`, their
//! embedded migrations, and the settings that make erasure real on SQLite (secure delete, WAL
//! checkpoints). May not: decide anything about policy, purposes or keys — it stores what it
//! is given, in the transaction it is given.

mod keys;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlStr, SqliteConnection, SqlitePool};
use uuid::Uuid;
use vintrova_core::audit::{AuditDraft, AuditRecord, ChainSealer, GENESIS, parse_categories};
use vintrova_core::gate::{BasisEvent, BasisEventKind};
use vintrova_core::store::{
    ChainHead, ErasureCounts, ErasurePlan, IndexEntry, SealedValue, Store, StoreError,
    SubjectRecord,
};

pub use keys::SqliteKeyStore;

/// The data store on one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("SQLite: {e}"))
}

/// A pool with the settings every Vintrova SQLite file needs: WAL, foreign keys, a busy
/// timeout, and secure delete so deleted values are overwritten, not left in free pages.
pub(crate) async fn open_pool(
    url: &str,
    migration: &'static str,
) -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Backend(format!("`{url}` is not a SQLite URL: {e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .pragma("secure_delete", "ON");
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(backend)?;
    let migrator = Migrator::with_migrations(vec![Migration::new(
        1,
        "initial".into(),
        MigrationType::Simple,
        SqlStr::from_static(migration),
        false,
    )]);
    migrator.run(&pool).await.map_err(backend)?;
    Ok(pool)
}

/// Fold the write-ahead log into the database and truncate it, so that page images holding
/// deleted values do not survive in the `-wal` file.
pub(crate) async fn checkpoint(pool: &SqlitePool) -> Result<(), StoreError> {
    for _ in 0..50 {
        let busy: i64 = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(pool)
            .await
            .map_err(backend)?
            .get(0);
        if busy == 0 {
            return Ok(());
        }
        // A reader holding the log finishes within milliseconds; give it that long.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(StoreError::Backend(
        "SQLite: the write-ahead log could not be checkpointed because readers kept it busy; erasure is complete in the keys, run it again to scrub the log".into(),
    ))
}

fn time(s: &str) -> Result<Timestamp, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Backend(format!("SQLite: a stored time `{s}` does not parse")))
}

fn uuid(s: &str) -> Result<Uuid, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Backend("SQLite: a stored subject id does not parse".into()))
}

impl SqliteStore {
    /// Open (creating if needed) the data store at `url` (`sqlite://path`).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Ok(SqliteStore {
            pool: open_pool(url, include_str!("../migrations/0001_data.sql")).await?,
        })
    }

    /// The pool, for tests that tamper with the file like an attacker would.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        // IMMEDIATE takes the write lock up front; a deferred BEGIN would fail with SQLITE_BUSY
        // when two writers upgrade at once.
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)
    }

    async fn subject_exists(conn: &mut SqliteConnection, id: Uuid) -> Result<(), StoreError> {
        let found = sqlx::query("SELECT 1 FROM subjects WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)?;
        found.map(|_| ()).ok_or(StoreError::UnknownSubject(id))
    }

    async fn put_values(
        conn: &mut SqliteConnection,
        id: Uuid,
        values: &[SealedValue],
        index: &[IndexEntry],
    ) -> Result<(), StoreError> {
        let sid = id.to_string();
        for v in values {
            sqlx::query(
                "INSERT INTO pd_values (subject_id, field, key_class, sealed, source, collected_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (subject_id, field) DO UPDATE SET key_class = excluded.key_class,
                   sealed = excluded.sealed, source = excluded.source, collected_at = excluded.collected_at",
            )
            .bind(&sid)
            .bind(&v.field)
            .bind(&v.key_class)
            .bind(&v.sealed)
            .bind(&v.source)
            .bind(v.collected_at.to_string())
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
            // A new value of an indexed field replaces its old digest.
            sqlx::query("DELETE FROM blind_index WHERE subject_id = $1 AND field = $2")
                .bind(&sid)
                .bind(&v.field)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
        }
        for entry in index {
            sqlx::query("INSERT INTO blind_index (subject_id, field, digest) VALUES ($1, $2, $3)")
                .bind(&sid)
                .bind(&entry.field)
                .bind(&entry.digest)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
        }
        Ok(())
    }

    async fn put_basis_event(
        conn: &mut SqliteConnection,
        id: Uuid,
        e: &BasisEvent,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO basis_events (subject_id, kind, purpose, channel, at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id.to_string())
            .bind(e.kind.as_str())
            .bind(&e.purpose)
            .bind(&e.channel)
            .bind(e.at.to_string())
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Append to the chain inside the caller's write transaction, which holds the write lock.
    async fn put_audit(
        conn: &mut SqliteConnection,
        draft: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)?;
        let (seq, prev): (i64, Vec<u8>) = match last {
            Some(row) => (row.get::<i64, _>(0) + 1, row.get(1)),
            None => (1, GENESIS.to_vec()),
        };
        let hash = sealer.link(&prev, seq, draft).to_vec();
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, action, subject_id, categories, purpose, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(seq)
        .bind(draft.at.to_string())
        .bind(&draft.actor)
        .bind(&draft.action)
        .bind(draft.subject.map(|s| s.to_string()))
        .bind(draft.categories_column())
        .bind(&draft.purpose)
        .bind(&prev)
        .bind(&hash)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
        Ok((seq, hash))
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn insert_subject(
        &self,
        subject: &SubjectRecord,
        values: &[SealedValue],
        index: &[IndexEntry],
        bases: &[BasisEvent],
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO subjects (id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(subject.id.to_string())
        .bind(subject.created_at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::DuplicateSubject(subject.id));
        }
        Self::put_values(&mut tx, subject.id, values, index).await?;
        for event in bases {
            Self::put_basis_event(&mut tx, subject.id, event).await?;
        }
        let head = Self::put_audit(&mut tx, audit, sealer).await?;
        tx.commit().await.map_err(backend)?;
        Ok(head)
    }

    async fn upsert_values(
        &self,
        subject: Uuid,
        values: &[SealedValue],
        index: &[IndexEntry],
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.begin().await?;
        Self::subject_exists(&mut tx, subject).await?;
        Self::put_values(&mut tx, subject, values, index).await?;
        let head = Self::put_audit(&mut tx, audit, sealer).await?;
        tx.commit().await.map_err(backend)?;
        Ok(head)
    }

    async fn append_basis_event(
        &self,
        subject: Uuid,
        event: &BasisEvent,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.begin().await?;
        Self::subject_exists(&mut tx, subject).await?;
        Self::put_basis_event(&mut tx, subject, event).await?;
        let head = Self::put_audit(&mut tx, audit, sealer).await?;
        tx.commit().await.map_err(backend)?;
        Ok(head)
    }

    async fn subject(&self, id: Uuid) -> Result<Option<SubjectRecord>, StoreError> {
        let row = sqlx::query("SELECT created_at FROM subjects WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(|r| {
            Ok(SubjectRecord {
                id,
                created_at: time(r.get(0))?,
            })
        })
        .transpose()
    }

    async fn values(&self, id: Uuid) -> Result<Vec<SealedValue>, StoreError> {
        let rows = sqlx::query(
            "SELECT field, key_class, sealed, source, collected_at FROM pd_values WHERE subject_id = $1 ORDER BY field",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(SealedValue {
                    field: r.get(0),
                    key_class: r.get(1),
                    sealed: r.get(2),
                    source: r.get(3),
                    collected_at: time(r.get(4))?,
                })
            })
            .collect()
    }

    async fn basis_events(&self, id: Uuid) -> Result<Vec<BasisEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, purpose, channel, at FROM basis_events WHERE subject_id = $1 ORDER BY id",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let kind: String = r.get(0);
                Ok(BasisEvent {
                    kind: BasisEventKind::parse(&kind).ok_or_else(|| {
                        StoreError::Backend(format!("SQLite: unknown basis event kind `{kind}`"))
                    })?,
                    purpose: r.get(1),
                    channel: r.get(2),
                    at: time(r.get(3))?,
                })
            })
            .collect()
    }

    async fn find_by_index(&self, field: &str, digest: &[u8]) -> Result<Vec<Uuid>, StoreError> {
        let rows = sqlx::query("SELECT subject_id FROM blind_index WHERE field = $1 AND digest = $2 ORDER BY subject_id")
            .bind(field)
            .bind(digest)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(|r| uuid(r.get(0))).collect()
    }

    async fn append_audit(
        &self,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.begin().await?;
        let head = Self::put_audit(&mut tx, audit, sealer).await?;
        tx.commit().await.map_err(backend)?;
        Ok(head)
    }

    async fn erase(
        &self,
        id: Uuid,
        plan: &ErasurePlan,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<(ErasureCounts, ChainHead), StoreError> {
        let sid = id.to_string();
        let mut tx = self.begin().await?;
        Self::subject_exists(&mut tx, id).await?;
        let mut counts = ErasureCounts::default();
        for class in &plan.classes {
            counts.index_entries += sqlx::query(
                "DELETE FROM blind_index WHERE subject_id = $1
                 AND field IN (SELECT field FROM pd_values WHERE subject_id = $1 AND key_class = $2)",
            )
            .bind(&sid)
            .bind(class)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
            counts.values +=
                sqlx::query("DELETE FROM pd_values WHERE subject_id = $1 AND key_class = $2")
                    .bind(&sid)
                    .bind(class)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?
                    .rows_affected();
        }
        if plan.whole_subject {
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
                    &mut counts.basis_events,
                    "DELETE FROM basis_events WHERE subject_id = $1",
                ),
            ] {
                *counter += sqlx::query(sql)
                    .bind(&sid)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?
                    .rows_affected();
            }
            sqlx::query("DELETE FROM subjects WHERE id = $1")
                .bind(&sid)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        let head = Self::put_audit(&mut tx, audit, sealer).await?;
        tx.commit().await.map_err(backend)?;
        checkpoint(&self.pool).await?;
        Ok((counts, head))
    }

    async fn audit_page(&self, after: i64, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, subject_id, categories, purpose, prev_hash, hash
             FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let subject: Option<String> = r.get(4);
                let categories: String = r.get(5);
                Ok(AuditRecord {
                    seq: r.get(0),
                    at: time(r.get(1))?,
                    actor: r.get(2),
                    action: r.get(3),
                    subject: subject.as_deref().map(uuid).transpose()?,
                    categories: parse_categories(&categories),
                    purpose: r.get(6),
                    prev_hash: r.get(7),
                    hash: r.get(8),
                })
            })
            .collect()
    }

    async fn schema(&self) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_schema WHERE type = 'table'
             AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%' ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut schema = Vec::new();
        for table in tables {
            let columns = sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                .bind(&table)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
            schema.push((table, columns));
        }
        Ok(schema)
    }
}

/// Open the data store and its key store for a data directory's SQLite files.
pub async fn open(
    data_url: &str,
    keys_path: &Path,
) -> Result<(SqliteStore, SqliteKeyStore), StoreError> {
    let store = SqliteStore::open(data_url).await?;
    let keys = SqliteKeyStore::open(keys_path).await?;
    Ok((store, keys))
}
