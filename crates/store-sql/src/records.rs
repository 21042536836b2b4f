//! Orders, enrollments, tickets, and the catalog they refer to.

use super::*;

sql_port!(RecordStore {

    async fn insert_record(
        &self,
        r: &Record,
        events: &[SealedEvent],
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(r.subject)).await?;
        sqlx::query::<DB>(
            "INSERT INTO records (id, subject_id, kind, state, digest, anchored_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(r.id)
        .bind(r.subject)
        .bind(r.kind.as_str().to_string())
        .bind(r.state.clone())
        .bind(r.digest.clone())
        .bind(r.anchored_at.map(|t| t.to_string()))
        .bind(r.created_at.to_string())
        .bind(r.updated_at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        Self::put_events(&mut tx, r.subject, events).await?;
        Self::commit_audited(tx, audit, sealer).await
    }


    async fn advance_record(
        &self,
        r: &Record,
        events: &[SealedEvent],
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(r.subject)).await?;
        sqlx::query::<DB>(
            "UPDATE records SET state = $2, anchored_at = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(r.id)
        .bind(r.state.clone())
        .bind(r.anchored_at.map(|t| t.to_string()))
        .bind(r.updated_at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        Self::put_events(&mut tx, r.subject, events).await?;
        Self::commit_audited(tx, audit, sealer).await
    }


    async fn record(&self, id: Uuid) -> Result<Option<Record>, StoreError> {
        self.rows_of(RECORD_BY_ID, id)
            .await?
            .first()
            .map(Self::record_of)
            .transpose()
    }


    async fn records(&self, subject: Uuid) -> Result<Vec<Record>, StoreError> {
        self.rows_of(RECORDS_OF_SUBJECT, subject)
            .await?
            .iter()
            .map(Self::record_of)
            .collect()
    }


    async fn records_by_digest(
        &self,
        kind: RecordKind,
        digest: &[u8],
    ) -> Result<Vec<Record>, StoreError> {
        let rows = sqlx::query::<DB>(RECORDS_BY_DIGEST)
            .bind(kind.as_str().to_string())
            .bind(digest.to_vec())
            .fetch_all(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        rows.iter().map(Self::record_of).collect()
    }


    async fn put_offering(&self, o: &Offering) -> Result<(), StoreError> {
        sqlx::query::<DB>(
            "INSERT INTO offerings (id, kind, level, title_ru, title_kk, title_en) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, level = excluded.level,
               title_ru = excluded.title_ru, title_kk = excluded.title_kk, title_en = excluded.title_en",
        )
        .bind(o.id.clone())
        .bind(word(&o.kind))
        .bind(word(&o.level))
        .bind(o.title_ru.clone())
        .bind(o.title_kk.clone())
        .bind(o.title_en.clone())
        .execute(&self.writer)
        .await
        .map_err(backend::<DB>)?;
        Ok(())
    }


    async fn offerings(&self) -> Result<Vec<Offering>, StoreError> {
        let rows = sqlx::query::<DB>(
            "SELECT id, kind, level, title_ru, title_kk, title_en FROM offerings ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend::<DB>)?;
        rows.iter()
            .map(|r| {
                Ok(Offering {
                    id: r.get(0),
                    kind: from_word::<DB, _>(&r.get::<String, _>(1))?,
                    level: from_word::<DB, _>(&r.get::<String, _>(2))?,
                    title_ru: r.get(3),
                    title_kk: r.get(4),
                    title_en: r.get(5),
                })
            })
            .collect()
    }
});
