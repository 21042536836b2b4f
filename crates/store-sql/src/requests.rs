//! Rights requests, their codes and the copies they answer with.

use super::*;

sql_port!(RequestStore {

    async fn insert_request(
        &self,
        r: &Request,
        events: &[SealedEvent],
        code: Option<&CodeRecord>,
        message: Option<&OutboxEntry>,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(r.subject)).await?;
        Self::put_request(&mut tx, r, code).await?;
        Self::put_events(&mut tx, r.subject, events).await?;
        if let Some(m) = message {
            Self::put_message(&mut tx, m).await?;
        }
        Self::commit_audited(tx, audit, sealer).await
    }


    async fn update_request(
        &self,
        r: &Request,
        events: &[SealedEvent],
        message: Option<&OutboxEntry>,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(r.subject)).await?;
        sqlx::query::<DB>("UPDATE requests SET state = $2, closed_at = $3 WHERE id = $1")
            .bind(r.id)
            .bind(r.state.as_str().to_string())
            .bind(r.closed_at.map(|t| t.to_string()))
            .execute(&mut *tx)
            .await
            .map_err(backend::<DB>)?;
        if r.state != RequestState::AwaitingVerification {
            sqlx::query::<DB>("DELETE FROM request_codes WHERE request_id = $1")
                .bind(r.id)
                .execute(&mut *tx)
                .await
                .map_err(backend::<DB>)?;
        }
        Self::put_events(&mut tx, r.subject, events).await?;
        if let Some(m) = message {
            Self::put_message(&mut tx, m).await?;
        }
        Self::commit_audited(tx, audit, sealer).await
    }


    async fn request(&self, id: Uuid) -> Result<Option<Request>, StoreError> {
        self.rows_of(REQUEST_BY_ID, id)
            .await?
            .first()
            .map(Self::request_of)
            .transpose()
    }


    async fn open_request(
        &self,
        subject: Uuid,
        right: RightKind,
    ) -> Result<Option<Request>, StoreError> {
        Ok(self
            .requests_of(subject)
            .await?
            .into_iter()
            .find(|r| r.right == right && r.closed_at.is_none()))
    }


    async fn open_requests(&self) -> Result<Vec<Request>, StoreError> {
        let rows = sqlx::query::<DB>(OPEN_REQUESTS)
            .fetch_all(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        rows.iter().map(Self::request_of).collect()
    }


    async fn closed_requests(&self) -> Result<Vec<Request>, StoreError> {
        let rows = sqlx::query::<DB>(CLOSED_REQUESTS)
            .fetch_all(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        rows.iter().map(Self::request_of).collect()
    }


    async fn requests_of(&self, subject: Uuid) -> Result<Vec<Request>, StoreError> {
        self.rows_of(REQUESTS_OF_SUBJECT, subject)
            .await?
            .iter()
            .map(Self::request_of)
            .collect()
    }


    async fn request_code(&self, request: Uuid) -> Result<Option<CodeRecord>, StoreError> {
        let rows = self
            .rows_of("SELECT code_digest, expires_at_us, attempts FROM request_codes WHERE request_id = $1", request)
            .await?;
        rows.first()
            .map(|r| {
                Ok(CodeRecord {
                    request,
                    digest: r.get(0),
                    expires_at: Timestamp::from_microsecond(r.get(1)).map_err(backend::<DB>)?,
                    attempts: r.get(2),
                })
            })
            .transpose()
    }


    async fn count_code_attempt(&self, request: Uuid) -> Result<i64, StoreError> {
        self.count_attempt(
            "UPDATE request_codes SET attempts = attempts + 1 WHERE request_id = $1",
            "SELECT attempts FROM request_codes WHERE request_id = $1",
            request,
        )
        .await
    }


    async fn renew_code(
        &self,
        code: &CodeRecord,
        subject: Option<Uuid>,
        message: &OutboxEntry,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<Option<ChainHead>, StoreError> {
        let mut tx = self.open_write(subject).await?;
        // Only a request still awaiting its code has one to renew; a letter, while held.
        let renewed = match subject {
            Some(_) => sqlx::query::<DB>(
                "UPDATE request_codes SET code_digest = $2, expires_at_us = $3, attempts = 0
                 WHERE request_id = $1 AND EXISTS
                   (SELECT 1 FROM requests WHERE id = $1 AND state = 'awaiting_verification')",
            ),
            None => sqlx::query::<DB>(
                "UPDATE letters SET code_digest = $2, expires_at_us = $3, attempts = 0 WHERE id = $1",
            ),
        }
        .bind(code.request)
        .bind(code.digest.clone())
        .bind(code.expires_at.as_microsecond())
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        if DB::rows_affected(&renewed) == 0 {
            return Ok(None);
        }
        Self::put_message(&mut tx, message).await?;
        Self::commit_audited(tx, audit, sealer).await.map(Some)
    }


    async fn insert_letter(
        &self,
        letter: &LetterRecord,
        message: &OutboxEntry,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(None).await?;
        sqlx::query::<DB>(
            "INSERT INTO letters (id, sealed, code_digest, expires_at_us, attempts, received_at)
             VALUES ($1, $2, $3, $4, 0, $5)",
        )
        .bind(letter.id)
        .bind(letter.sealed.clone())
        .bind(letter.code.digest.clone())
        .bind(letter.code.expires_at.as_microsecond())
        .bind(letter.received_at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        Self::put_message(&mut tx, message).await?;
        // A letter from the mailbox keeps its id: holding it takes it out of the inbox.
        Self::exec(&mut tx, "DELETE FROM inbox WHERE id = $1", letter.id).await?;
        Self::commit_audited(tx, audit, sealer).await
    }


    async fn letter(&self, id: Uuid) -> Result<Option<LetterRecord>, StoreError> {
        let rows = self
            .rows_of(&format!("{LETTERS} WHERE id = $1"), id)
            .await?;
        rows.first().map(Self::letter_of).transpose()
    }


    async fn letters(&self) -> Result<Vec<LetterRecord>, StoreError> {
        let rows = sqlx::query::<DB>(sqlx::AssertSqlSafe(format!("{LETTERS} ORDER BY received_at, id")))
            .fetch_all(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        rows.iter().map(Self::letter_of).collect()
    }


    async fn count_letter_attempt(&self, id: Uuid) -> Result<i64, StoreError> {
        self.count_attempt(
            "UPDATE letters SET attempts = attempts + 1 WHERE id = $1",
            "SELECT attempts FROM letters WHERE id = $1",
            id,
        )
        .await
    }


    async fn admit_letter(
        &self,
        letter: Uuid,
        person: Option<&NewSubject>,
        request: Option<(&Request, &[SealedEvent])>,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<Option<ChainHead>, StoreError> {
        let mut tx = self.begin().await?;
        // Only the transaction that takes the letter admits it: a second verification finds none.
        if Self::exec(&mut tx, "DELETE FROM letters WHERE id = $1", letter).await? == 0 {
            return Ok(None);
        }
        if let Some(new) = person {
            Self::put_subject(&mut tx, new).await?;
        }
        if let Some((r, events)) = request {
            Self::subject_exists(&mut tx, r.subject).await?;
            Self::put_request(&mut tx, r, None).await?;
            Self::put_events(&mut tx, r.subject, events).await?;
        }
        Self::commit_audited(tx, audit, sealer).await.map(Some)
    }


    async fn insert_download(
        &self,
        d: &DownloadRecord,
        message: Option<&OutboxEntry>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query::<DB>("INSERT INTO downloads (token_digest, subject_id, sealed, expires_at_us) VALUES ($1, $2, $3, $4)")
            .bind(d.digest.clone())
            .bind(d.subject)
            .bind(d.sealed.clone())
            .bind(d.expires_at.as_microsecond())
            .execute(&mut *tx)
            .await
            .map_err(backend::<DB>)?;
        if let Some(m) = message {
            Self::put_message(&mut tx, m).await?;
        }
        tx.commit().await.map_err(backend::<DB>)
    }


    async fn download(&self, digest: &[u8]) -> Result<Option<DownloadRecord>, StoreError> {
        let row = self
            .row_by_digest(
                "SELECT subject_id, sealed, expires_at_us, token_digest FROM downloads WHERE token_digest = $1",
                digest,
            )
            .await?;
        row.as_ref().map(Self::download_of).transpose()
    }


    async fn downloads_of(&self, subject: Uuid) -> Result<Vec<DownloadRecord>, StoreError> {
        let rows = self
            .rows_of(
                "SELECT subject_id, sealed, expires_at_us, token_digest FROM downloads WHERE subject_id = $1 ORDER BY expires_at_us",
                subject,
            )
            .await?;
        rows.iter().map(Self::download_of).collect()
    }
});
