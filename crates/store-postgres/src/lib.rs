//! The scale-out backend: the storage ports on PostgreSQL.
//!
//! Lives here: the PostgreSQL implementations of core's `Store` and the vault's `KeyStore`
//! (in its own schema, `vault`), and their embedded migration. Every PD table carries the
//! subject id, so the data can be distributed by it. Erased rows may linger as dead tuples
//! until VACUUM; their keys are destroyed first, which is what makes erasure immediate here.
//! May not: decide anything about policy, purposes or keys.

mod keys;

use jiff::Timestamp;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgConnection, PgPool, Row, SqlStr};
use uuid::Uuid;
use vintrova_core::audit::{AuditDraft, AuditRecord, ChainSealer, GENESIS, parse_categories};
use vintrova_core::gate::{BasisEvent, BasisEventKind};
use vintrova_core::store::{
    ChainHead, ErasureCounts, ErasurePlan, IndexEntry, SealedValue, Store, StoreError,
    SubjectRecord,
};

pub use keys::PgKeyStore;

/// Serializes appends to the audit chain across every server sharing the database.
const AUDIT_LOCK: i64 = 0x5649_4e54_4155_4454; // "VINTAUDT"

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("PostgreSQL: {e}"))
}

fn time(s: &str) -> Result<Timestamp, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Backend(format!("PostgreSQL: a stored time `{s}` does not parse")))
}

/// Connect to `url` and bring the schema up to date; both stores share the pool.
pub async fn open(url: &str) -> Result<(PgStore, PgKeyStore), StoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect(url)
        .await
        .map_err(|e| StoreError::Backend(format!("PostgreSQL at the configured URL: {e}")))?;
    let migrator = Migrator::with_migrations(vec![Migration::new(
        1,
        "initial".into(),
        MigrationType::Simple,
        SqlStr::from_static(include_str!("../migrations/0001_initial.sql")),
        false,
    )]);
    migrator.run(&pool).await.map_err(backend)?;
    Ok((PgStore { pool: pool.clone() }, PgKeyStore::new(pool)))
}

impl PgStore {
    /// The pool, for tests that tamper with rows like an attacker would.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        self.pool.begin().await.map_err(backend)
    }

    async fn subject_exists(conn: &mut PgConnection, id: Uuid) -> Result<(), StoreError> {
        let found = sqlx::query("SELECT 1 FROM subjects WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)?;
        found.map(|_| ()).ok_or(StoreError::UnknownSubject(id))
    }

    async fn put_values(
        conn: &mut PgConnection,
        id: Uuid,
        values: &[SealedValue],
        index: &[IndexEntry],
    ) -> Result<(), StoreError> {
        for v in values {
            sqlx::query(
                "INSERT INTO pd_values (subject_id, field, key_class, sealed, source, collected_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (subject_id, field) DO UPDATE SET key_class = excluded.key_class,
                   sealed = excluded.sealed, source = excluded.source, collected_at = excluded.collected_at",
            )
            .bind(id)
            .bind(&v.field)
            .bind(&v.key_class)
            .bind(&v.sealed)
            .bind(&v.source)
            .bind(v.collected_at.to_string())
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
            sqlx::query("DELETE FROM blind_index WHERE subject_id = $1 AND field = $2")
                .bind(id)
                .bind(&v.field)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
        }
        for entry in index {
            sqlx::query("INSERT INTO blind_index (subject_id, field, digest) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(&entry.field)
                .bind(&entry.digest)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
        }
        Ok(())
    }

    async fn put_basis_event(
        conn: &mut PgConnection,
        id: Uuid,
        e: &BasisEvent,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO basis_events (subject_id, kind, purpose, channel, at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(e.kind.as_str())
            .bind(&e.purpose)
            .bind(&e.channel)
            .bind(e.at.to_string())
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Append to the chain under a transaction-scoped advisory lock, so two servers never
    /// append the same sequence number.
    async fn put_audit(
        conn: &mut PgConnection,
        draft: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(AUDIT_LOCK)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
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
        .bind(draft.subject)
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
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
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
        .bind(subject.id)
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
            .bind(id)
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
        .bind(id)
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
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let kind: String = r.get(0);
                Ok(BasisEvent {
                    kind: BasisEventKind::parse(&kind).ok_or_else(|| {
                        StoreError::Backend(format!(
                            "PostgreSQL: unknown basis event kind `{kind}`"
                        ))
                    })?,
                    purpose: r.get(1),
                    channel: r.get(2),
                    at: time(r.get(3))?,
                })
            })
            .collect()
    }

    async fn find_by_index(&self, field: &str, digest: &[u8]) -> Result<Vec<Uuid>, StoreError> {
        sqlx::query_scalar("SELECT subject_id FROM blind_index WHERE field = $1 AND digest = $2 ORDER BY subject_id")
            .bind(field)
            .bind(digest)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)
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
        let mut tx = self.begin().await?;
        Self::subject_exists(&mut tx, id).await?;
        let mut counts = ErasureCounts::default();
        counts.index_entries += sqlx::query(
            "DELETE FROM blind_index WHERE subject_id = $1
             AND field IN (SELECT field FROM pd_values WHERE subject_id = $1 AND key_class = ANY($2))",
        )
        .bind(id)
        .bind(&plan.classes)
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected();
        counts.values +=
            sqlx::query("DELETE FROM pd_values WHERE subject_id = $1 AND key_class = ANY($2)")
                .bind(id)
                .bind(&plan.classes)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
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
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?
                    .rows_affected();
            }
            sqlx::query("DELETE FROM subjects WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        let head = Self::put_audit(&mut tx, audit, sealer).await?;
        tx.commit().await.map_err(backend)?;
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
                let categories: String = r.get(5);
                Ok(AuditRecord {
                    seq: r.get(0),
                    at: time(r.get(1))?,
                    actor: r.get(2),
                    action: r.get(3),
                    subject: r.get(4),
                    categories: parse_categories(&categories),
                    purpose: r.get(6),
                    prev_hash: r.get(7),
                    hash: r.get(8),
                })
            })
            .collect()
    }

    async fn schema(&self) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx\\_%'
             ORDER BY table_name, ordinal_position",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
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
