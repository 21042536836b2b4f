//! A person's data: values, events, bases, consents, look-ups, erasure.

use super::*;

sql_port!(SubjectStore {

    async fn insert_subject(
        &self,
        new: &NewSubject,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(None).await?;
        Self::put_subject(&mut tx, new).await?;
        Self::commit_audited(tx, audit, sealer).await
    }


    async fn append_consent(
        &self,
        subject: Uuid,
        event: &ConsentEvent,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(subject)).await?;
        Self::put_consent(&mut tx, subject, event).await?;
        Self::commit_audited(tx, audit, sealer).await
    }


    async fn insert_events(
        &self,
        subject: Uuid,
        events: &[SealedEvent],
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(subject)).await?;
        Self::put_events(&mut tx, subject, events).await?;
        Self::commit_audited(tx, audit, sealer).await
    }


    async fn consents(&self, id: Uuid) -> Result<Vec<ConsentEvent>, StoreError> {
        let rows = self
            .rows_of(&format!("{CONSENTS} WHERE subject_id = $1 ORDER BY id"), id)
            .await?;
        rows.iter().map(Self::consent_of).collect()
    }


    async fn events(&self, id: Uuid) -> Result<Vec<SealedEvent>, StoreError> {
        self.person_rows(cells::EVENTS, id, &[], cells::sealed_event).await
    }


    async fn event_heads(&self, id: Uuid, timed: &[String]) -> Result<Vec<EventHead>, StoreError> {
        self.person_rows(&cells::event_heads(timed.len()), id, timed, cells::event_head).await
    }


    async fn upsert_values(
        &self,
        subject: Uuid,
        values: &[SealedValue],
        index: &[IndexEntry],
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(subject)).await?;
        Self::put_values(&mut tx, subject, values, index).await?;
        Self::commit_audited(tx, audit, sealer).await
    }


    async fn append_basis_event(
        &self,
        subject: Uuid,
        event: &BasisEvent,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(Some(subject)).await?;
        Self::put_basis_event(&mut tx, subject, event).await?;
        Self::commit_audited(tx, audit, sealer).await
    }


    async fn set_language(&self, id: Uuid, locale: &str, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query::<DB>(
            "INSERT INTO languages (subject_id, locale, chosen_at) VALUES ($1, $2, $3)
             ON CONFLICT (subject_id) DO UPDATE SET locale = excluded.locale, chosen_at = excluded.chosen_at",
        )
        .bind(id)
        .bind(locale.to_string())
        .bind(at.to_string())
        .execute(&self.writer)
        .await
        .map_err(backend::<DB>)?;
        Ok(())
    }


    async fn language(&self, id: Uuid) -> Result<Option<String>, StoreError> {
        let rows = self
            .rows_of("SELECT locale FROM languages WHERE subject_id = $1", id)
            .await?;
        Ok(rows.first().map(|r| r.get(0)))
    }


    async fn subject(&self, id: Uuid) -> Result<Option<SubjectRecord>, StoreError> {
        // A person whose erasure is underway reads as erased, never as someone with nothing.
        let row = sqlx::query::<DB>(
            "SELECT created_at FROM subjects WHERE id = $1
             AND NOT EXISTS (SELECT 1 FROM erasures_underway WHERE subject_id = $1)",
        )
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        row.map(|r| {
            Ok(SubjectRecord {
                id,
                created_at: time::<DB>(&r.get::<String, _>(0))?,
            })
        })
        .transpose()
    }


    async fn values(&self, id: Uuid) -> Result<Vec<SealedValue>, StoreError> {
        self.person_rows(cells::VALUES, id, &[], cells::sealed_value).await
    }


    async fn basis_events(&self, id: Uuid) -> Result<Vec<BasisEvent>, StoreError> {
        let rows = self
            .rows_of(&format!("{BASES} WHERE subject_id = $1 ORDER BY id"), id)
            .await?;
        rows.iter().map(Self::basis_of).collect()
    }


    async fn find_by_index(&self, field: &str, digest: &[u8]) -> Result<Vec<Uuid>, StoreError> {
        let rows = sqlx::query::<DB>(
            "SELECT subject_id FROM blind_index b WHERE field = $1 AND digest = $2
             AND NOT EXISTS (SELECT 1 FROM erasures_underway e WHERE e.subject_id = b.subject_id)
             ORDER BY subject_id",
        )
            .bind(field.to_string())
            .bind(digest.to_vec())
            .fetch_all(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }


    async fn erase(
        &self,
        id: Uuid,
        plan: &ErasurePlan,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<Option<(ErasureCounts, ChainHead)>, StoreError> {
        let mut tx = self.begin().await?;
        // Only the transaction that ends the intent erases: a second caller finds none.
        if Self::exec(&mut tx, "DELETE FROM erasures_underway WHERE subject_id = $1", id).await? == 0 {
            return Ok(None);
        }
        let mut counts = ErasureCounts::default();
        // Messages waiting for this person carry their address: they go whatever else stays.
        counts.messages +=
            Self::exec(&mut tx, "DELETE FROM outbox WHERE subject_id = $1", id).await?;
        Self::exec(&mut tx, "DELETE FROM downloads WHERE subject_id = $1", id).await?;
        for class in &plan.classes {
            for kind in [
                RecordKind::Order,
                RecordKind::Enrollment,
                RecordKind::Ticket,
            ] {
                if kind.key_class() == class {
                    let done = sqlx::query::<DB>(
                        "DELETE FROM records WHERE subject_id = $1 AND kind = $2",
                    )
                    .bind(id)
                    .bind(kind.as_str().to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend::<DB>)?;
                    counts.records += DB::rows_affected(&done);
                }
            }
        }
        // Every class in one statement per table: a person's rows are scanned once, not once
        // per class (ten thousand visits read five times over to find them in one class).
        if !plan.classes.is_empty() {
            let classes = cells::numbered(2, plan.classes.len());
            for (counter, sql) in [
                (
                    &mut counts.index_entries,
                    format!("DELETE FROM blind_index WHERE subject_id = $1
                     AND field IN (SELECT field FROM pd_values WHERE subject_id = $1 AND key_class IN ({classes}))"),
                ),
                (&mut counts.values, format!("DELETE FROM pd_values WHERE subject_id = $1 AND key_class IN ({classes})")),
                (&mut counts.events, format!("DELETE FROM pd_events WHERE subject_id = $1 AND key_class IN ({classes})")),
            ] {
                *counter += Self::delete_of(&mut tx, sql, id, &plan.classes).await?;
            }
        }
        for category in &plan.categories {
            for (counter, sql) in [
                (
                    &mut counts.index_entries,
                    "DELETE FROM blind_index WHERE subject_id = $1
                     AND substr(field, 1, length($2) + 1) = $2 || '.'",
                ),
                (
                    &mut counts.values,
                    "DELETE FROM pd_values WHERE subject_id = $1
                     AND substr(field, 1, length($2) + 1) = $2 || '.'",
                ),
            ] {
                *counter += Self::delete_of(&mut tx, sql.to_string(), id, std::slice::from_ref(category)).await?;
            }
        }
        if !plan.categories.is_empty() {
            let categories = cells::numbered(2, plan.categories.len());
            counts.events += Self::delete_of(
                &mut tx,
                format!("DELETE FROM pd_events WHERE subject_id = $1 AND category IN ({categories})"),
                id,
                &plan.categories,
            )
            .await?;
        }
        if !plan.whole_subject {
            sqlx::query::<DB>(
                "UPDATE accounts SET status = 'closed', closed_at = $2 WHERE subject_id = $1 AND status <> 'closed'",
            )
            .bind(id)
            .bind(audit.at.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend::<DB>)?;
            Self::exec(&mut tx, "DELETE FROM sessions WHERE subject_id = $1", id).await?;
            if let Some(event) = &plan.contract_ended {
                Self::put_basis_event(&mut tx, id, event).await?;
            }
        }
        if plan.whole_subject {
            Self::delete_subject(&mut tx, id, &mut counts).await?;
        }
        Self::put_receipt(&mut tx, plan.receipt.as_ref()).await?;
        let head = Self::commit_audited(tx, audit, sealer).await?;
        DB::scrub(&self.pool).await.map_err(backend::<DB>)?;
        Ok(Some((counts, head)))
    }


    async fn begin_erasure(
        &self,
        id: Uuid,
        decided_at: Timestamp,
        intent: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        // An erasure already underway is not a missing subject: the caller carries that out.
        let recorded = sqlx::query::<DB>(
            "INSERT INTO erasures_underway (subject_id, decided_at, intent)
             SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM subjects WHERE id = $1)
             ON CONFLICT (subject_id) DO NOTHING",
        )
        .bind(id)
        .bind(decided_at.to_string())
        .bind(intent.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        if DB::rows_affected(&recorded) == 1 {
            tx.commit().await.map_err(backend::<DB>)?;
            return Ok(true);
        }
        // Nothing written: either one is underway, or the subject is gone.
        let underway = sqlx::query::<DB>("SELECT 1 FROM erasures_underway WHERE subject_id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend::<DB>)?;
        match underway {
            Some(_) => Ok(false),
            None => Err(StoreError::UnknownSubject(id)),
        }
    }


    async fn erasure_intent(&self, id: Uuid) -> Result<Option<String>, StoreError> {
        let row = sqlx::query::<DB>("SELECT intent FROM erasures_underway WHERE subject_id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        Ok(row.map(|r| r.get(0)))
    }


    async fn erasures_underway(&self) -> Result<Vec<Uuid>, StoreError> {
        let rows = sqlx::query::<DB>("SELECT subject_id FROM erasures_underway ORDER BY decided_at")
            .fetch_all(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }


    async fn receipt(&self, digest: &[u8]) -> Result<Option<ReceiptRecord>, StoreError> {
        let row = sqlx::query::<DB>(
            "SELECT id, cause, issued_at FROM erasure_receipts WHERE digest = $1",
        )
        .bind(digest.to_vec())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend::<DB>)?;
        row.map(|r| {
            let issued_at: String = r.get(2);
            Ok(ReceiptRecord {
                id: r.get(0),
                digest: digest.to_vec(),
                cause: r.get(1),
                issued_at: time::<DB>(&issued_at)?,
            })
        })
        .transpose()
    }


    async fn subject_ids(&self, after: Option<Uuid>, limit: i64) -> Result<Vec<Uuid>, StoreError> {
        let rows = match after {
            Some(after) => {
                sqlx::query::<DB>("SELECT id FROM subjects WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(after)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
            }
            None => {
                sqlx::query::<DB>("SELECT id FROM subjects ORDER BY id LIMIT $1")
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(backend::<DB>)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
});

sql_impl!((impl<DB> SqlStore<DB>) {
    /// Run a delete of person `id` (`$1`) with `words` bound after it; the rows it removed.
    async fn delete_of(
        tx: &mut DB::Connection,
        sql: String,
        id: Uuid,
        words: &[String],
    ) -> Result<u64, StoreError> {
        let done = Self::person_query(&sql, id, words)
            .execute(&mut *tx)
            .await
            .map_err(backend::<DB>)?;
        Ok(DB::rows_affected(&done))
    }
});
