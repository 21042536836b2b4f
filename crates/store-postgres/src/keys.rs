//! The vault's key store in its own schema, `vault`, apart from the data.

use sqlx::{PgPool, Row};
use uuid::Uuid;
use vintrova_vault::{KeyOwner, KeyStore, KeyStoreError, StoredKey};

#[derive(Clone)]
pub struct PgKeyStore {
    pool: PgPool,
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

fn stored(row: &sqlx::postgres::PgRow) -> Result<StoredKey, KeyStoreError> {
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

const SELECT: &str =
    "SELECT owner_kind, subject_id, class, kek_version, wrapped FROM vault.vault_keys";

impl PgKeyStore {
    pub(crate) fn new(pool: PgPool) -> Self {
        PgKeyStore { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait::async_trait]
impl KeyStore for PgKeyStore {
    async fn insert_keys(&self, keys: &[StoredKey]) -> Result<(), KeyStoreError> {
        let mut tx = self.pool.begin().await.map_err(failed("store keys"))?;
        for key in keys {
            let (kind, subject, class) = columns(&key.owner);
            sqlx::query(
                "INSERT INTO vault.vault_keys (owner_kind, subject_id, class, kek_version, wrapped)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(kind)
            .bind(subject)
            .bind(class)
            .bind(i64::from(key.kek_version))
            .bind(&key.wrapped)
            .execute(&mut *tx)
            .await
            .map_err(failed("store keys"))?;
        }
        tx.commit().await.map_err(failed("store keys"))
    }

    async fn subject_keys(&self, subject: Uuid) -> Result<Vec<StoredKey>, KeyStoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE owner_kind = 'subject' AND subject_id = $1"
        ));
        let rows = sqlx::query(sql)
            .bind(subject.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(failed("read a subject's keys"))?;
        rows.iter().map(stored).collect()
    }

    async fn system_keys(&self) -> Result<Vec<StoredKey>, KeyStoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE owner_kind = 'system'"));
        let rows = sqlx::query(sql)
            .fetch_all(&self.pool)
            .await
            .map_err(failed("read the system keys"))?;
        rows.iter().map(stored).collect()
    }

    async fn destroy_subject_keys(
        &self,
        subject: Uuid,
        classes: &[String],
    ) -> Result<u64, KeyStoreError> {
        let mut tx = self.pool.begin().await.map_err(failed("destroy keys"))?;
        let mut destroyed = 0;
        for class in classes {
            destroyed += sqlx::query("DELETE FROM vault.vault_keys WHERE owner_kind = 'subject' AND subject_id = $1 AND class = $2")
                .bind(subject.to_string())
                .bind(class)
                .execute(&mut *tx)
                .await
                .map_err(failed("destroy keys"))?
                .rows_affected();
        }
        tx.commit().await.map_err(failed("destroy keys"))?;
        Ok(destroyed)
    }

    async fn all_keys(&self) -> Result<Vec<StoredKey>, KeyStoreError> {
        let rows = sqlx::query(SELECT)
            .fetch_all(&self.pool)
            .await
            .map_err(failed("read all keys"))?;
        rows.iter().map(stored).collect()
    }

    async fn rewrap_keys(&self, keys: &[StoredKey]) -> Result<(), KeyStoreError> {
        let mut tx = self.pool.begin().await.map_err(failed("re-wrap keys"))?;
        for key in keys {
            let (kind, subject, class) = columns(&key.owner);
            sqlx::query(
                "UPDATE vault.vault_keys SET kek_version = $4, wrapped = $5
                 WHERE owner_kind = $1 AND subject_id = $2 AND class = $3",
            )
            .bind(kind)
            .bind(subject)
            .bind(class)
            .bind(i64::from(key.kek_version))
            .bind(&key.wrapped)
            .execute(&mut *tx)
            .await
            .map_err(failed("re-wrap keys"))?;
        }
        tx.commit().await.map_err(failed("re-wrap keys"))
    }

    async fn chain_anchor(&self) -> Result<Option<(i64, Vec<u8>)>, KeyStoreError> {
        let row = sqlx::query("SELECT seq, hash FROM vault.chain_anchor WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(failed("read the audit anchor"))?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    async fn advance_chain_anchor(&self, seq: i64, hash: &[u8]) -> Result<(), KeyStoreError> {
        sqlx::query(
            "INSERT INTO vault.chain_anchor (id, seq, hash) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash WHERE excluded.seq > vault.chain_anchor.seq",
        )
        .bind(seq)
        .bind(hash)
        .execute(&self.pool)
        .await
        .map_err(failed("advance the audit anchor"))?;
        Ok(())
    }
}
