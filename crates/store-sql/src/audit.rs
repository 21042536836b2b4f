//! The audit log: appends with no write of their own, pages, pruning.

use super::*;
use vintrova_core::audit::RawAuditRow;

sql_port!(AuditStore {
    async fn audit_raw_page(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<RawAuditRow>, StoreError> {
        let rows = sqlx::query::<DB>(sqlx::AssertSqlSafe(format!(
            "{AUDIT} WHERE seq > $1 ORDER BY seq LIMIT $2"
        )))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(backend::<DB>)?;
        Ok(rows
            .iter()
            .map(|r| RawAuditRow {
                seq: r.get(0),
                at: r.get(1),
                actor: r.get(2),
                action: r.get(3),
                subject: r.get(4),
                categories: r.get(5),
                purpose: r.get(6),
                prev_hash: r.get(7),
                hash: r.get(8),
                stated_purpose: r.get(9),
            })
            .collect())
    }

    async fn audit_tail(&self) -> Result<Option<ChainHead>, StoreError> {
        let row = sqlx::query::<DB>("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }


    async fn append_audit(
        &self,
        entries: &[AuditDraft],
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(None).await?;
        let head = Self::put_audit(&mut tx, entries, sealer).await?;
        tx.commit().await.map_err(backend::<DB>)?;
        Ok(head)
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
});
