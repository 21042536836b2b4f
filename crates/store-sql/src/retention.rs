//! What the sweep reads and deletes, and the legal holds that stop it.

use super::*;

/// An expired record leaves with its events; `$1` is the person, `$2` the record.
const RECORD_EXPIRES: &[&str] = &[
    "DELETE FROM pd_events WHERE subject_id = $1 AND record_id = $2",
    "DELETE FROM records WHERE subject_id = $1 AND id = $2",
];
/// An expired request leaves with its events and its code.
const REQUEST_EXPIRES: &[&str] = &[
    "DELETE FROM pd_events WHERE subject_id = $1 AND record_id = $2",
    "DELETE FROM request_codes WHERE subject_id = $1 AND request_id = $2",
    "DELETE FROM requests WHERE subject_id = $1 AND id = $2",
];

sql_port!(RetentionStore {

    async fn inventory(
        &self,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Inventory>, StoreError> {
        let lo = after.unwrap_or(Uuid::nil());
        let ids: Vec<Uuid> =
            sqlx::query::<DB>("SELECT id FROM subjects WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(lo)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(backend::<DB>)?
                .iter()
                .map(|r| r.get(0))
                .collect();
        let Some(&hi) = ids.last() else {
            return Ok(vec![]);
        };
        let mut page: BTreeMap<Uuid, Inventory> = ids
            .iter()
            .map(|&subject| {
                (
                    subject,
                    Inventory {
                        subject,
                        values: vec![],
                        events: vec![],
                        records: vec![],
                        requests: vec![],
                        bases: vec![],
                        consents: vec![],
                        account: None,
                        dropped: vec![],
                    },
                )
            })
            .collect();
        // Each table once for the whole page: the subjects' ids are a contiguous range.
        // Within a subject, rows come in the order they were written (`then`): the ledgers
        // (bases, consents) are read as histories, and equal timestamps must not reorder them.
        let range = |select: &str, subject_column: usize, then: &str| {
            let sql = format!(
                "{select} WHERE subject_id > $1 AND subject_id <= $2 ORDER BY subject_id, {then}"
            );
            async move {
                let rows = sqlx::query::<DB>(sqlx::AssertSqlSafe(sql))
                    .bind(lo)
                    .bind(hi)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend::<DB>)?;
                Ok::<_, StoreError>(
                    rows.into_iter()
                        .map(|r| (r.get::<Uuid, _>(subject_column), r))
                        .collect::<Vec<_>>(),
                )
            }
        };
        for (subject, r) in range(
            "SELECT field, key_class, collected_at, subject_id FROM pd_values",
            3,
            "field",
        )
        .await?
        {
            if let Some(inv) = page.get_mut(&subject) {
                inv.values.push(ValueMeta {
                    field: r.get(0),
                    key_class: r.get(1),
                    collected_at: time::<DB>(&r.get::<String, _>(2))?,
                });
            }
        }
        for (subject, r) in range(
            "SELECT id, category, key_class, collected_at, record_id, subject_id FROM pd_events",
            5,
            "id",
        )
        .await?
        {
            if let Some(inv) = page.get_mut(&subject) {
                inv.events.push(EventMeta {
                    id: r.get(0),
                    category: r.get(1),
                    key_class: r.get(2),
                    collected_at: time::<DB>(&r.get::<String, _>(3))?,
                    record: r.get(4),
                });
            }
        }
        for (subject, r) in range(
            "SELECT category, key_class, events, subject_id FROM expired_by_month",
            3,
            "month, category, key_class",
        )
        .await?
        {
            if let Some(inv) = page.get_mut(&subject) {
                inv.dropped.push(Dropped {
                    category: r.get(0),
                    key_class: r.get(1),
                    events: r.get::<i64, _>(2).max(0) as u64,
                });
            }
        }
        for (subject, r) in range(RECORDS, 1, "id").await? {
            if let Some(inv) = page.get_mut(&subject) {
                inv.records.push(Self::record_of(&r)?);
            }
        }
        for (subject, r) in range(REQUESTS, 1, "id").await? {
            if let Some(inv) = page.get_mut(&subject) {
                inv.requests.push(Self::request_of(&r)?);
            }
        }
        for (subject, r) in range(BASES, 4, "id").await? {
            if let Some(inv) = page.get_mut(&subject) {
                inv.bases.push(Self::basis_of(&r)?);
            }
        }
        for (subject, r) in range(CONSENTS, 7, "id").await? {
            if let Some(inv) = page.get_mut(&subject) {
                inv.consents.push(Self::consent_of(&r)?);
            }
        }
        for (subject, r) in range(ACCOUNTS, 5, "subject_id").await? {
            if let Some(inv) = page.get_mut(&subject) {
                inv.account = Some(Self::account_of(&r)?);
            }
        }
        // Within a subject, events and ledgers in the order they were written.
        let mut page: Vec<Inventory> = page.into_values().collect();
        for inv in &mut page {
            inv.events.sort_by_key(|e| e.id);
            inv.records.sort_by_key(|r| r.id);
            inv.requests.sort_by_key(|r| r.id);
        }
        Ok(page)
    }


    async fn expire(
        &self,
        expiries: &[Expiry],
        audits: &[AuditDraft],
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.begin().await?;
        // Several people's expiries share the transaction, its audit append and its commit.
        for expiry in expiries {
            let id = expiry.subject;
            Self::subject_exists(&mut tx, id).await?;
            if !expiry.events.is_empty() {
                let ids: Vec<String> = expiry.events.iter().map(Uuid::to_string).collect();
                sqlx::query::<DB>(DB::DELETE_EVENTS)
                    .bind(id)
                    .bind(serde_json::to_string(&ids).expect("strings serialize"))
                    .execute(&mut *tx)
                    .await
                    .map_err(backend::<DB>)?;
            }
            for field in &expiry.fields {
                for sql in [
                    "DELETE FROM blind_index WHERE subject_id = $1 AND field = $2",
                    "DELETE FROM pd_values WHERE subject_id = $1 AND field = $2",
                ] {
                    sqlx::query::<DB>(sql)
                        .bind(id)
                        .bind(field.clone())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend::<DB>)?;
                }
            }
            // Within the person's rows: on a store spread by person, one shard, not every one.
            let records = expiry.records.iter().map(|r| (r, RECORD_EXPIRES));
            let requests = expiry.requests.iter().map(|r| (r, REQUEST_EXPIRES));
            for (row, statements) in records.chain(requests) {
                for sql in statements {
                    sqlx::query::<DB>(*sql)
                        .bind(id)
                        .bind(*row)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend::<DB>)?;
                }
            }
            if expiry.dropped {
                Self::exec(&mut tx, "DELETE FROM expired_by_month WHERE subject_id = $1", id)
                    .await?;
            }
            if expiry.whole_subject {
                Self::delete_subject(&mut tx, id, &mut ErasureCounts::default()).await?;
            }
            Self::put_receipt(&mut tx, expiry.receipt.as_ref()).await?;
        }
        let head = Self::put_audit(&mut tx, audits, sealer).await?;
        tx.commit().await.map_err(backend::<DB>)?;
        Ok(head)
    }


    async fn scrub(&self) -> Result<(), StoreError> {
        DB::scrub(&self.pool).await.map_err(backend::<DB>)
    }


    async fn leftovers(
        &self,
        now: Timestamp,
        logs_cutoff: Timestamp,
        count_only: bool,
    ) -> Result<Leftovers, StoreError> {
        Ok(Leftovers {
            sessions: self
                .stale::<Vec<u8>>(
                    "SELECT token_digest, expires_at FROM sessions",
                    "DELETE FROM sessions WHERE token_digest = $1",
                    now,
                    count_only,
                )
                .await?,
            password_resets: self
                .stale::<Vec<u8>>(
                    "SELECT token_digest, COALESCE(used_at, expires_at) FROM password_resets",
                    "DELETE FROM password_resets WHERE token_digest = $1",
                    now,
                    count_only,
                )
                .await?,
            downloads: self
                .stale::<Vec<u8>>(
                    "SELECT token_digest, expires_at_us FROM downloads",
                    "DELETE FROM downloads WHERE token_digest = $1",
                    now,
                    count_only,
                )
                .await?,
            outbox: self
                .stale::<Uuid>(
                    "SELECT id, created_at FROM outbox WHERE state IN ('sent', 'failed')",
                    "DELETE FROM outbox WHERE id = $1",
                    logs_cutoff,
                    count_only,
                )
                .await?,
            notices: self
                .stale::<Uuid>(
                    "SELECT id, queued_at FROM notices",
                    "DELETE FROM notices WHERE id = $1",
                    logs_cutoff,
                    count_only,
                )
                .await?,
            letters: self
                .stale::<Uuid>(
                    "SELECT id, expires_at_us FROM letters",
                    "DELETE FROM letters WHERE id = $1",
                    now,
                    count_only,
                )
                .await?,
        })
    }


    async fn append_hold(
        &self,
        event: &HoldEvent,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(None).await?;
        sqlx::query::<DB>(
            "INSERT INTO legal_holds (hold_id, action, subject_id, categories, reference, until, actor, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(event.hold)
        .bind(event.action.as_str().to_string())
        .bind(event.subject)
        .bind(serde_json::to_string(&event.categories).expect("strings serialize"))
        .bind(event.reference.clone())
        .bind(event.until.map(|t| t.to_string()))
        .bind(event.actor.clone())
        .bind(event.at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        Self::commit_audited(tx, audit, sealer).await
    }


    async fn hold_events(&self) -> Result<Vec<HoldEvent>, StoreError> {
        let rows = sqlx::query::<DB>(
            "SELECT hold_id, action, subject_id, categories, reference, until, actor, at
             FROM legal_holds ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend::<DB>)?;
        rows.iter()
            .map(|r| {
                let action: String = r.get(1);
                Ok(HoldEvent {
                    hold: r.get(0),
                    action: HoldAction::parse(&action)
                        .ok_or_else(|| backend::<DB>(format!("unknown hold action `{action}`")))?,
                    subject: r.get(2),
                    categories: serde_json::from_str(&r.get::<String, _>(3))
                        .map_err(backend::<DB>)?,
                    reference: r.get(4),
                    until: r
                        .get::<Option<String>, _>(5)
                        .as_deref()
                        .map(time::<DB>)
                        .transpose()?,
                    actor: r.get(6),
                    at: time::<DB>(&r.get::<String, _>(7))?,
                })
            })
            .collect()
    }
});
