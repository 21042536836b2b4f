//! Accounts, sessions, password resets, idleness and the monthly digest.

use super::*;

sql_port!(AccountStore {

    async fn insert_account(
        &self,
        account: &AccountRecord,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(account.subject)).await?;
        Self::put_account(&mut tx, account).await?;
        Self::commit_audited(tx, audit, sealer).await
    }


    async fn open_claimed_account(
        &self,
        claim: Uuid,
        joining: &NewSubject,
        account: &AccountRecord,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<Option<ChainHead>, StoreError> {
        let mut tx = self.open_write(Some(account.subject)).await?;
        // Only the transaction that takes the claim opens the account.
        if Self::exec(&mut tx, "DELETE FROM letters WHERE id = $1", claim).await? == 0 {
            return Ok(None);
        }
        Self::put_joining(&mut tx, joining).await?;
        Self::put_account(&mut tx, account).await?;
        Self::commit_audited(tx, audit, sealer).await.map(Some)
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
             ON CONFLICT (token_digest, subject_id) DO UPDATE SET expires_at = excluded.expires_at",
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
        message: Option<&OutboxEntry>,
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
        if let Some(m) = message {
            Self::put_message(&mut tx, m).await?;
        }
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
        .execute(&self.writer)
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


    async fn mark_idle_notice(&self, subject: Uuid, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query::<DB>("UPDATE accounts SET idle_notice_at = $2 WHERE subject_id = $1")
            .bind(subject)
            .bind(at.to_string())
            .execute(&self.writer)
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
            .execute(&self.writer)
            .await
            .map_err(backend::<DB>)?;
        Ok(())
    }


    async fn mark_access_digest(&self, subject: Uuid, month: &str) -> Result<(), StoreError> {
        sqlx::query::<DB>("UPDATE accounts SET access_digest_month = $2 WHERE subject_id = $1")
            .bind(subject)
            .bind(month.to_string())
            .execute(&self.writer)
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
});
