//! The vault's key store: wrapped keys and the audit anchor, apart from the data (its own file
//! on SQLite, its own schema on PostgreSQL — the backend's pool decides where).

use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};
use uuid::Uuid;
use vintrova_vault::{KeyOwner, KeyStore, KeyStoreError, StoredKey};

use crate::Dialect;

pub struct SqlKeyStore<DB: sqlx::Database> {
    pool: Pool<DB>,
}

impl<DB: sqlx::Database> Clone for SqlKeyStore<DB> {
    fn clone(&self) -> Self {
        SqlKeyStore {
            pool: self.pool.clone(),
        }
    }
}

impl<DB: sqlx::Database> SqlKeyStore<DB> {
    /// `pool` must resolve `vault_keys` and `chain_anchor` to the key store's tables.
    pub fn new(pool: Pool<DB>) -> Self {
        SqlKeyStore { pool }
    }

    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }
}

fn failed(action: &'static str) -> impl Fn(sqlx::Error) -> KeyStoreError {
    move |e| KeyStoreError {
        action,
        message: e.to_string(),
    }
}

fn columns(owner: &KeyOwner) -> (&'static str, String, &str) {
    match owner {
        KeyOwner::Subject { id, class } => ("subject", id.to_string(), class.as_str()),
        KeyOwner::System(name) => ("system", String::new(), name.as_str()),
    }
}

fn stored<DB: Dialect>(row: &DB::Row) -> Result<StoredKey, KeyStoreError>
where
    String: for<'r> Decode<'r, DB> + Type<DB>,
    Vec<u8>: for<'r> Decode<'r, DB> + Type<DB>,
    i64: for<'r> Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let kind: String = row.get(0);
    let subject: String = row.get(1);
    let class: String = row.get(2);
    let owner = match kind.as_str() {
        "system" => KeyOwner::System(class),
        _ => KeyOwner::Subject {
            id: subject.parse::<Uuid>().map_err(|_| KeyStoreError {
                action: "read a key",
                message: "a stored key's subject id does not parse".into(),
            })?,
            class,
        },
    };
    Ok(StoredKey {
        owner,
        kek_version: row.get::<i64, _>(3) as u32,
        wrapped: row.get(4),
    })
}

const SELECT: &str = "SELECT owner_kind, subject_id, class, kek_version, wrapped FROM vault_keys";

impl<DB> SqlKeyStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    String: for<'q> Encode<'q, DB> + Type<DB>,
    Vec<u8>: for<'q> Encode<'q, DB> + Type<DB>,
    i64: for<'q> Encode<'q, DB> + Type<DB>,
{
    /// Run `sql` for every key, binding (kind, subject, class, version, wrapped), all or nothing.
    async fn write_keys(
        &self,
        keys: &[StoredKey],
        sql: &'static str,
        action: &'static str,
    ) -> Result<(), KeyStoreError> {
        let mut tx = self
            .pool
            .begin_with(DB::BEGIN_WRITE)
            .await
            .map_err(failed(action))?;
        for key in keys {
            let (kind, subject, class) = columns(&key.owner);
            sqlx::query::<DB>(sql)
                .bind(kind.to_string())
                .bind(subject)
                .bind(class.to_string())
                .bind(i64::from(key.kek_version))
                .bind(key.wrapped.clone())
                .execute(&mut *tx)
                .await
                .map_err(failed(action))?;
        }
        tx.commit().await.map_err(failed(action))
    }
}

impl<DB> SqlKeyStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    Vec<u8>: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    i64: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    usize: ColumnIndex<DB::Row>,
{
    /// A (seq, hash) mark on the audit chain: the anchor at its head, the checkpoint at its cut.
    async fn chain_mark(
        &self,
        sql: &'static str,
        action: &'static str,
    ) -> Result<Option<(i64, Vec<u8>)>, KeyStoreError> {
        let row = sqlx::query::<DB>(sql)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed(action))?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    async fn move_chain_mark(
        &self,
        sql: &'static str,
        seq: i64,
        hash: &[u8],
        action: &'static str,
    ) -> Result<(), KeyStoreError> {
        sqlx::query::<DB>(sql)
            .bind(seq)
            .bind(hash.to_vec())
            .execute(&self.pool)
            .await
            .map_err(failed(action))?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl<DB> KeyStore for SqlKeyStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    String: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    Vec<u8>: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    i64: for<'q> Encode<'q, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    Option<String>: for<'r> Decode<'r, DB>,
    Option<Vec<u8>>: for<'r> Decode<'r, DB>,
    usize: ColumnIndex<DB::Row>,
{
    async fn insert_keys(&self, keys: &[StoredKey]) -> Result<u64, KeyStoreError> {
        let action = "store keys";
        let mut tx = self
            .pool
            .begin_with(DB::BEGIN_WRITE)
            .await
            .map_err(failed(action))?;
        let mut stored = 0;
        // One statement for a person's keys: their classes in one round trip.
        for chunk in keys.chunks(crate::BATCH_ROWS) {
            let sql = crate::rows_sql(
                "INSERT INTO vault_keys (owner_kind, subject_id, class, kek_version, wrapped) VALUES",
                5,
                chunk.len(),
                " ON CONFLICT DO NOTHING",
            );
            let mut insert = sqlx::query::<DB>(sqlx::AssertSqlSafe(sql));
            for key in chunk {
                let (kind, subject, class) = columns(&key.owner);
                insert = insert
                    .bind(kind.to_string())
                    .bind(subject)
                    .bind(class.to_string())
                    .bind(i64::from(key.kek_version))
                    .bind(key.wrapped.clone());
            }
            let done = insert.execute(&mut *tx).await.map_err(failed(action))?;
            stored += DB::rows_affected(&done);
        }
        tx.commit().await.map_err(failed(action))?;
        Ok(stored)
    }

    async fn subject_keys(&self, subject: Uuid) -> Result<Vec<StoredKey>, KeyStoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE owner_kind = 'subject' AND subject_id = $1"
        ));
        let rows = sqlx::query::<DB>(sql)
            .bind(subject.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(failed("read a subject's keys"))?;
        rows.iter().map(stored::<DB>).collect()
    }

    async fn system_keys(&self) -> Result<Vec<StoredKey>, KeyStoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE owner_kind = 'system'"));
        let rows = sqlx::query::<DB>(sql)
            .fetch_all(&self.pool)
            .await
            .map_err(failed("read the system keys"))?;
        rows.iter().map(stored::<DB>).collect()
    }

    async fn destroy_subject_keys(
        &self,
        owners: &[(Uuid, Vec<String>)],
    ) -> Result<u64, KeyStoreError> {
        let mut tx = self
            .pool
            .begin_with(DB::BEGIN_WRITE)
            .await
            .map_err(failed("destroy keys"))?;
        let mut destroyed = 0;
        for (subject, classes) in owners {
            for class in classes {
                let done = sqlx::query::<DB>("DELETE FROM vault_keys WHERE owner_kind = 'subject' AND subject_id = $1 AND class = $2")
                    .bind(subject.to_string())
                    .bind(class.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(failed("destroy keys"))?;
                destroyed += DB::rows_affected(&done);
            }
        }
        tx.commit().await.map_err(failed("destroy keys"))?;
        Ok(destroyed)
    }

    async fn scrub(&self) -> Result<(), KeyStoreError> {
        DB::scrub(&self.pool)
            .await
            .map_err(|message| KeyStoreError {
                action: "scrub destroyed keys from the database files",
                message,
            })?;
        if let Some(vacuum) = DB::VACUUM_KEYS {
            sqlx::query::<DB>(vacuum)
                .execute(&self.pool)
                .await
                .map_err(failed("vacuum the key table after keys were destroyed"))?;
        }
        Ok(())
    }

    async fn all_keys(&self) -> Result<Vec<StoredKey>, KeyStoreError> {
        let rows = sqlx::query::<DB>(SELECT)
            .fetch_all(&self.pool)
            .await
            .map_err(failed("read all keys"))?;
        rows.iter().map(stored::<DB>).collect()
    }

    async fn rewrap_keys(&self, keys: &[StoredKey]) -> Result<(), KeyStoreError> {
        self.write_keys(
            keys,
            "UPDATE vault_keys SET kek_version = $4, wrapped = $5
             WHERE owner_kind = $1 AND subject_id = $2 AND class = $3",
            "re-wrap keys",
        )
        .await?;
        // The old wrappings must not linger for an old master key to open.
        DB::scrub(&self.pool)
            .await
            .map_err(|message| KeyStoreError {
                action: "scrub old wrappings from the database files",
                message,
            })
    }

    async fn chain_anchor(&self) -> Result<Option<(i64, Vec<u8>)>, KeyStoreError> {
        self.chain_mark(
            "SELECT seq, hash FROM chain_anchor WHERE id = 1",
            "read the audit anchor",
        )
        .await
    }

    async fn advance_chain_anchor(&self, seq: i64, hash: &[u8]) -> Result<(), KeyStoreError> {
        self.move_chain_mark(
            "INSERT INTO chain_anchor (id, seq, hash) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash WHERE excluded.seq > chain_anchor.seq",
            seq,
            hash,
            "advance the audit anchor",
        )
        .await
    }

    async fn reset_chain_anchor(&self, seq: i64, hash: &[u8]) -> Result<(), KeyStoreError> {
        self.move_chain_mark(
            "INSERT INTO chain_anchor (id, seq, hash) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            seq,
            hash,
            "reset the audit anchor",
        )
        .await
    }

    async fn chain_checkpoint(&self) -> Result<Option<(i64, Vec<u8>)>, KeyStoreError> {
        self.chain_mark(
            "SELECT seq, hash FROM chain_checkpoint WHERE id = 1",
            "read the audit checkpoint",
        )
        .await
    }

    async fn chain_checkpoint_seal(
        &self,
    ) -> Result<Option<(Option<String>, Option<Vec<u8>>)>, KeyStoreError> {
        let row =
            sqlx::query::<DB>("SELECT pruned_at, signature FROM chain_checkpoint WHERE id = 1")
                .fetch_optional(&self.pool)
                .await
                .map_err(failed("read the audit checkpoint's seal"))?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    async fn set_chain_checkpoint(
        &self,
        seq: i64,
        hash: &[u8],
        pruned_at: &str,
        signature: &[u8],
    ) -> Result<(), KeyStoreError> {
        sqlx::query::<DB>(
            "INSERT INTO chain_checkpoint (id, seq, hash, pruned_at, signature) VALUES (1, $1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash,
               pruned_at = excluded.pruned_at, signature = excluded.signature
             WHERE excluded.seq > chain_checkpoint.seq",
        )
        .bind(seq)
        .bind(hash.to_vec())
        .bind(pruned_at.to_string())
        .bind(signature.to_vec())
        .execute(&self.pool)
        .await
        .map_err(failed("record the audit checkpoint"))?;
        Ok(())
    }
}
