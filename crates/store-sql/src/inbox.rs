//! Letters from the mailbox waiting to be classified.

use vintrova_core::requests::mailbox::InboxRow;
use vintrova_core::store::InboxStore;

use super::*;

const INBOX: &str = "SELECT id, message_digest, sealed, locale, received_at FROM inbox";

sql_impl!((impl<DB> SqlStore<DB>) {
    fn inbox_of(r: &DB::Row) -> Result<InboxRow, StoreError> {
        Ok(InboxRow {
            id: r.get(0),
            digest: r.get(1),
            sealed: r.get(2),
            locale: r.get(3),
            received_at: time::<DB>(&r.get::<String, _>(4))?,
        })
    }
});

sql_port!(InboxStore {
    async fn put_inbox(
        &self,
        row: &InboxRow,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<Option<ChainHead>, StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query::<DB>(
            "INSERT INTO inbox (id, message_digest, sealed, locale, received_at, received_us)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (message_digest) DO NOTHING",
        )
        .bind(row.id)
        .bind(row.digest.clone())
        .bind(row.sealed.clone())
        .bind(row.locale.clone())
        .bind(row.received_at.to_string())
        .bind(row.received_at.as_microsecond())
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        if DB::rows_affected(&done) == 0 {
            return Ok(None);
        }
        Self::commit_audited(tx, audit, sealer).await.map(Some)
    }


    async fn inbox(&self) -> Result<Vec<InboxRow>, StoreError> {
        let rows = sqlx::query::<DB>(sqlx::AssertSqlSafe(format!(
            "{INBOX} ORDER BY received_us, id"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(backend::<DB>)?;
        rows.iter().map(Self::inbox_of).collect()
    }


    async fn inbox_row(&self, id: Uuid) -> Result<Option<InboxRow>, StoreError> {
        let rows = self.rows_of(&format!("{INBOX} WHERE id = $1"), id).await?;
        rows.first().map(Self::inbox_of).transpose()
    }


    async fn dismiss_inbox(
        &self,
        id: Uuid,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<Option<ChainHead>, StoreError> {
        let mut tx = self.begin().await?;
        if Self::exec(&mut tx, "DELETE FROM inbox WHERE id = $1", id).await? == 0 {
            return Ok(None);
        }
        let head = Self::commit_audited(tx, audit, sealer).await?;
        DB::scrub(&self.pool).await.map_err(backend::<DB>)?;
        Ok(Some(head))
    }
});
