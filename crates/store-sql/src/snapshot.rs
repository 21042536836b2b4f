//! Consistent copies of a whole installation — data and key store together — for backups, and
//! putting one back. SQLite copies its files with `VACUUM INTO` while the data store's write
//! lock makes writers wait; PostgreSQL streams every table of both schemas with `COPY … BINARY`
//! inside one repeatable-read transaction, and loads them back in one transaction.
//! May not: encrypt, name files or decide what is restored (the backup format and the binary do).

use std::path::Path;

use futures_util::StreamExt;
use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, Executor, Postgres, Row};
use vintrova_core::store::StoreError;

use crate::backend;
use crate::postgres::PgStore;
use crate::sqlite::{SqliteKeyStore, SqliteStore};

/// Copy the data and key stores to `data_to` and `keys_to` (new files), as of one moment: the
/// data store's write lock is held until both copies are made. The anchor in the key store
/// therefore never runs ahead of the copied audit log.
pub async fn sqlite_copy(
    store: &SqliteStore,
    keys: &SqliteKeyStore,
    data_to: &Path,
    keys_to: &Path,
) -> Result<(), StoreError> {
    let failed = backend::<sqlx::Sqlite>;
    let mut lock = store.pool().acquire().await.map_err(failed)?;
    lock.execute("BEGIN IMMEDIATE").await.map_err(failed)?;
    let copied = async {
        for (pool, to) in [(store.pool(), data_to), (keys.pool(), keys_to)] {
            let to = to
                .to_str()
                .ok_or_else(|| StoreError::Backend("the backup path is not UTF-8".into()))?;
            sqlx::query("VACUUM INTO $1")
                .bind(to.to_string())
                .execute(pool)
                .await
                .map_err(failed)?;
        }
        Ok(())
    }
    .await;
    lock.execute("ROLLBACK").await.map_err(failed)?;
    copied
}

/// Every table of the data and key store schemas, parents before the tables that refer to them,
/// each with whether it is partitioned. A partitioned table is copied whole, as one table, and
/// loaded through itself, so its rows find their partitions in whatever partitions the schema
/// restored into has (events' months are made as the sweep meets them); its partitions are not
/// listed.
async fn pg_tables(conn: &mut PoolConnection<Postgres>) -> Result<Vec<(String, bool)>, StoreError> {
    let rows = sqlx::query(
        "SELECT n.nspname || '.' || c.relname, c.relkind = 'p' FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname IN (current_schema(), 'vault') AND c.relkind IN ('r', 'p')
           AND NOT c.relispartition AND c.relname NOT LIKE '\\_sqlx\\_%'
         ORDER BY c.relname <> 'subjects', c.relname <> 'requests', 1",
    )
    .fetch_all(&mut **conn)
    .await
    .map_err(backend::<Postgres>)?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Stream every table through `sink(table, bytes)`, as of one moment, in `COPY` binary form.
pub async fn pg_export(
    store: &PgStore,
    mut sink: impl FnMut(&str, &[u8]) -> std::io::Result<()>,
) -> Result<(), StoreError> {
    let failed = backend::<Postgres>;
    let mut conn = store.pool().acquire().await.map_err(failed)?;
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(failed)?;
    for (table, partitioned) in pg_tables(&mut conn).await? {
        sink(&table, &[]).map_err(backend::<Postgres>)?;
        let source = if partitioned {
            format!("(SELECT * FROM {table})")
        } else {
            table.clone()
        };
        let mut stream = conn
            .copy_out_raw(&format!("COPY {source} TO STDOUT (FORMAT binary)"))
            .await
            .map_err(failed)?;
        while let Some(chunk) = stream.next().await {
            sink(&table, &chunk.map_err(failed)?).map_err(backend::<Postgres>)?;
        }
    }
    conn.execute("COMMIT").await.map_err(failed)?;
    Ok(())
}

/// Loading a copy into PostgreSQL: everything in one transaction, so a failed restore leaves
/// the database as it was.
pub struct PgImport {
    conn: PoolConnection<Postgres>,
}

impl PgImport {
    /// Start: empty every table (in the same transaction).
    pub async fn begin(store: &PgStore) -> Result<PgImport, StoreError> {
        let failed = backend::<Postgres>;
        let mut conn = store.pool().acquire().await.map_err(failed)?;
        conn.execute("BEGIN").await.map_err(failed)?;
        let tables: Vec<String> = pg_tables(&mut conn)
            .await?
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        conn.execute(AssertSqlSafe(format!("TRUNCATE {}", tables.join(", "))))
            .await
            .map_err(failed)?;
        Ok(PgImport { conn })
    }

    /// Load one table from its `COPY` binary bytes, given in pieces.
    pub async fn table(
        &mut self,
        table: &str,
        pieces: impl IntoIterator<Item = Vec<u8>>,
    ) -> Result<(), StoreError> {
        let failed = backend::<Postgres>;
        if !table
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
        {
            return Err(StoreError::Backend(format!(
                "the backup names a table `{table}` this schema does not have"
            )));
        }
        let mut copy = self
            .conn
            .copy_in_raw(&format!("COPY {table} FROM STDIN (FORMAT binary)"))
            .await
            .map_err(failed)?;
        for piece in pieces {
            copy.send(piece).await.map_err(failed)?;
        }
        copy.finish().await.map_err(failed)?;
        Ok(())
    }

    /// Move every serial sequence past the loaded rows and commit.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        let failed = backend::<Postgres>;
        let serials = sqlx::query(
            "SELECT table_schema || '.' || table_name, column_name::text FROM information_schema.columns
             WHERE table_schema IN (current_schema(), 'vault') AND column_default LIKE 'nextval%'",
        )
        .fetch_all(&mut *self.conn)
        .await
        .map_err(failed)?;
        for row in serials {
            let (table, column): (String, String) = (row.get(0), row.get(1));
            sqlx::query(AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), COALESCE(MAX({column}), 0) + 1, false) FROM {table}"
            )))
            .execute(&mut *self.conn)
            .await
            .map_err(failed)?;
        }
        self.conn.execute("COMMIT").await.map_err(failed)?;
        Ok(())
    }
}
