//! Webhook endpoints, the events written with each change, and their deliveries.

use vintrova_core::events::{Event, EventKind, EventRecord};
use vintrova_core::store::{AttemptRecord, DeliveryRow, DueEvent, EndpointRow};

use super::*;

const ENDPOINTS: &str = "SELECT id, url, kinds, secrets, created_at, failing_since_us, disabled_at FROM webhook_endpoints";
const EVENTS: &str = "SELECT seq, id, kind, subject_id, body, created_at FROM webhook_events";
/// What every endpoint wants, in the `kinds` column.
const EVERY_KIND: &str = "*";

fn micros<DB: Dialect>(us: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    us.map(|us| Timestamp::from_microsecond(us).map_err(backend::<DB>))
        .transpose()
}

fn kind<DB: Dialect>(word: &str) -> Result<EventKind, StoreError> {
    EventKind::parse(word).ok_or_else(|| backend::<DB>(format!("unknown event kind `{word}`")))
}

sql_impl!((impl<DB> SqlStore<DB>) {
    /// Write an event with the change it tells of (`seq` is its audit entry), and its delivery
    /// to every endpoint that wants its kind — disabled ones too: what they miss waits for them.
    pub(crate) async fn put_event(
        conn: &mut DB::Connection,
        seq: i64,
        at: Timestamp,
        event: &Event,
    ) -> Result<(), StoreError> {
        sqlx::query::<DB>(
            "INSERT INTO webhook_events (seq, id, kind, subject_id, body, created_at, created_us) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(seq)
        .bind(Uuid::now_v7())
        .bind(event.kind.as_str().to_string())
        .bind(event.subject)
        .bind(event.body(at))
        .bind(at.to_string())
        .bind(at.as_microsecond())
        .execute(&mut *conn)
        .await
        .map_err(backend::<DB>)?;
        sqlx::query::<DB>(
            "INSERT INTO webhook_deliveries (endpoint_id, event_seq, chain, state, attempts, next_attempt_us)
             SELECT id, $1, $2, 'pending', 0, $3 FROM webhook_endpoints WHERE kinds = $4 OR kinds LIKE $5",
        )
        .bind(seq)
        .bind(event.subject.map(|s| s.to_string()).unwrap_or_default())
        .bind(at.as_microsecond())
        .bind(EVERY_KIND.to_string())
        .bind(format!("%,{},%", event.kind.as_str()))
        .execute(&mut *conn)
        .await
        .map_err(backend::<DB>)?;
        Ok(())
    }

    fn endpoint_row(r: &DB::Row) -> Result<EndpointRow, StoreError> {
        let kinds: String = r.get(2);
        let kinds = match kinds.as_str() {
            EVERY_KIND => None,
            list => Some(
                list.split(',')
                    .filter(|w| !w.is_empty())
                    .map(kind::<DB>)
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        Ok(EndpointRow {
            id: r.get(0),
            url: r.get(1),
            kinds,
            secrets: r.get(3),
            created_at: time::<DB>(&r.get::<String, _>(4))?,
            failing_since: micros::<DB>(r.get(5))?,
            disabled_at: r.get::<Option<String>, _>(6).map(|t| time::<DB>(&t)).transpose()?,
        })
    }

    fn event_row(r: &DB::Row) -> Result<EventRecord, StoreError> {
        Ok(EventRecord {
            seq: r.get(0),
            id: r.get(1),
            kind: kind::<DB>(&r.get::<String, _>(2))?,
            subject: r.get(3),
            body: r.get(4),
            created_at: time::<DB>(&r.get::<String, _>(5))?,
        })
    }
});

sql_port!(WebhookStore {
    async fn put_endpoint(
        &self,
        e: &EndpointRow,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.begin().await?;
        let kinds = match &e.kinds {
            None => EVERY_KIND.to_string(),
            Some(kinds) => {
                let words: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                format!(",{},", words.join(","))
            }
        };
        sqlx::query::<DB>(
            "INSERT INTO webhook_endpoints (id, url, kinds, secrets, created_at, failing_since_us, disabled_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET url = $2, kinds = $3, secrets = $4, failing_since_us = $6, disabled_at = $7",
        )
        .bind(e.id)
        .bind(e.url.clone())
        .bind(kinds)
        .bind(e.secrets.clone())
        .bind(e.created_at.to_string())
        .bind(e.failing_since.map(|t| t.as_microsecond()))
        .bind(e.disabled_at.map(|t| t.to_string()))
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        Self::commit_audited(tx, audit, sealer).await
    }


    async fn endpoint(&self, id: Uuid) -> Result<Option<EndpointRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{ENDPOINTS} WHERE id = $1"));
        sqlx::query::<DB>(sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend::<DB>)?
            .map(|r| Self::endpoint_row(&r))
            .transpose()
    }


    async fn endpoints(&self) -> Result<Vec<(EndpointRow, i64, i64)>, StoreError> {
        let rows = sqlx::query::<DB>(sqlx::AssertSqlSafe(format!("{ENDPOINTS} ORDER BY id")))
            .fetch_all(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        let counts = sqlx::query::<DB>(
            "SELECT endpoint_id, state, COUNT(*) FROM webhook_deliveries GROUP BY endpoint_id, state",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend::<DB>)?;
        rows.iter()
            .map(|r| {
                let row = Self::endpoint_row(r)?;
                let count = |delivered: bool| {
                    counts
                        .iter()
                        .filter(|c| c.get::<Uuid, _>(0) == row.id)
                        .filter(|c| (c.get::<String, _>(1) == "delivered") == delivered)
                        .map(|c| c.get::<i64, _>(2))
                        .sum::<i64>()
                };
                let (waiting, delivered) = (count(false), count(true));
                Ok((row, waiting, delivered))
            })
            .collect()
    }


    async fn remove_endpoint(
        &self,
        id: Uuid,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<Option<ChainHead>, StoreError> {
        let mut tx = self.begin().await?;
        Self::exec(&mut tx, "DELETE FROM webhook_deliveries WHERE endpoint_id = $1", id).await?;
        if Self::exec(&mut tx, "DELETE FROM webhook_endpoints WHERE id = $1", id).await? == 0 {
            return Ok(None);
        }
        Self::commit_audited(tx, audit, sealer).await.map(Some)
    }


    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease: Timestamp,
        limit: i64,
    ) -> Result<Vec<DueEvent>, StoreError> {
        let mut tx = self.begin().await?;
        // Only a chain's oldest undelivered event is ever due: while it waits (retrying, or
        // claimed by another server) the person's later events wait behind it.
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT d.endpoint_id, d.event_seq, d.attempts FROM webhook_deliveries d
             WHERE d.state = 'pending' AND d.next_attempt_us <= $1
               AND (d.claimed_until_us IS NULL OR d.claimed_until_us < $1)
               AND d.endpoint_id IN (SELECT id FROM webhook_endpoints WHERE disabled_at IS NULL)
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries o
                   WHERE o.endpoint_id = d.endpoint_id AND o.chain = d.chain
                     AND o.event_seq < d.event_seq AND o.state <> 'delivered')
             ORDER BY d.event_seq LIMIT $2{}",
            DB::LOCK_CLAIMED
        ));
        let rows = sqlx::query::<DB>(sql)
            .bind(now.as_microsecond())
            .bind(limit)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend::<DB>)?;
        let mut due = Vec::with_capacity(rows.len());
        for r in &rows {
            let (endpoint, seq, attempts): (Uuid, i64, i64) = (r.get(0), r.get(1), r.get(2));
            sqlx::query::<DB>(
                "UPDATE webhook_deliveries SET claimed_until_us = $3 WHERE endpoint_id = $1 AND event_seq = $2",
            )
            .bind(endpoint)
            .bind(seq)
            .bind(lease.as_microsecond())
            .execute(&mut *tx)
            .await
            .map_err(backend::<DB>)?;
            let event = sqlx::query::<DB>(sqlx::AssertSqlSafe(format!("{EVENTS} WHERE seq = $1")))
                .bind(seq)
                .fetch_one(&mut *tx)
                .await
                .map_err(backend::<DB>)?;
            due.push(DueEvent {
                endpoint,
                event: Self::event_row(&event)?,
                attempts,
            });
        }
        tx.commit().await.map_err(backend::<DB>)?;
        Ok(due)
    }


    async fn finish_delivery(
        &self,
        a: &AttemptRecord,
    ) -> Result<Option<Timestamp>, StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query::<DB>(
            "UPDATE webhook_deliveries SET state = $3, attempts = $4, next_attempt_us = $5,
               claimed_until_us = NULL, last_status = $6, last_error = $7, delivered_at = $8
             WHERE endpoint_id = $1 AND event_seq = $2",
        )
        .bind(a.endpoint)
        .bind(a.seq)
        .bind(if a.delivered { "delivered" } else { "pending" }.to_string())
        .bind(a.attempts)
        .bind(a.next_attempt_at.as_microsecond())
        .bind(a.status.map(i64::from))
        .bind(a.error.clone())
        .bind(a.delivered.then(|| a.at.to_string()))
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        // A success ends the endpoint's failing; a failure starts it, unless it had already.
        let sql = if a.delivered {
            "UPDATE webhook_endpoints SET failing_since_us = NULL WHERE id = $1 AND $2 = $2"
        } else {
            "UPDATE webhook_endpoints SET failing_since_us = COALESCE(failing_since_us, $2) WHERE id = $1"
        };
        sqlx::query::<DB>(sql)
            .bind(a.endpoint)
            .bind(a.at.as_microsecond())
            .execute(&mut *tx)
            .await
            .map_err(backend::<DB>)?;
        let since: Option<i64> =
            sqlx::query::<DB>("SELECT failing_since_us FROM webhook_endpoints WHERE id = $1")
                .bind(a.endpoint)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend::<DB>)?
                .and_then(|r| r.get(0));
        tx.commit().await.map_err(backend::<DB>)?;
        micros::<DB>(since)
    }


    async fn deliveries(&self, endpoint: Uuid, limit: i64) -> Result<Vec<DeliveryRow>, StoreError> {
        let rows = sqlx::query::<DB>(
            "SELECT e.seq, e.id, e.kind, e.subject_id, d.state, d.attempts, d.next_attempt_us,
                    d.last_status, d.last_error, d.delivered_at
             FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event_seq
             WHERE d.endpoint_id = $1 ORDER BY e.seq DESC LIMIT $2",
        )
        .bind(endpoint)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(backend::<DB>)?;
        rows.iter()
            .map(|r| {
                Ok(DeliveryRow {
                    seq: r.get(0),
                    event: r.get(1),
                    kind: kind::<DB>(&r.get::<String, _>(2))?,
                    subject: r.get(3),
                    state: r.get(4),
                    attempts: r.get(5),
                    next_attempt_at: Timestamp::from_microsecond(r.get(6))
                        .map_err(backend::<DB>)?,
                    last_status: r
                        .get::<Option<i64>, _>(7)
                        .and_then(|s| u16::try_from(s).ok()),
                    last_error: r.get(8),
                    delivered_at: r
                        .get::<Option<String>, _>(9)
                        .map(|t| time::<DB>(&t))
                        .transpose()?,
                })
            })
            .collect()
    }


    async fn events_of(&self, subject: Uuid) -> Result<Vec<EventRecord>, StoreError> {
        let rows = self
            .rows_of(&format!("{EVENTS} WHERE subject_id = $1 ORDER BY seq"), subject)
            .await?;
        rows.iter().map(Self::event_row).collect()
    }


    async fn prune_events(&self, before: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query::<DB>(
            "DELETE FROM webhook_events WHERE created_us < $1 AND NOT EXISTS
               (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = webhook_events.seq AND d.state <> 'delivered')",
        )
        .bind(before.as_microsecond())
        .execute(&self.writer)
        .await
        .map_err(backend::<DB>)?;
        Ok(DB::rows_affected(&done))
    }
});
