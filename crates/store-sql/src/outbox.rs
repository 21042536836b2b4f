//! Messages waiting to go out, and the notices each person was sent.

use super::*;

sql_port!(OutboxStore {

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
            .execute(&self.writer)
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
});
