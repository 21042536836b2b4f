//! Events by month of collection (PostgreSQL, migration `events_by_month`): each month a
//! partition of its own, made by `vintrova_event_month`, and a month whose every event fell due
//! emptied in one statement, its tables dropped by a later sweep (`vintrova_drop_empty_months`).
//! Where the dialect keeps no months (SQLite) there is nothing to file and nothing to empty.

use jiff::ToSpan;
use jiff::civil::Date;
use vintrova_core::store::WholeMonth;

use super::*;

/// A month as stored times begin (`2025-03`), the next one, and the partition that holds it.
struct Month {
    this: String,
    next: String,
    partition: String,
}

impl Month {
    fn of(first_day: Date) -> Month {
        let name = |d: Date| format!("{:04}-{:02}", d.year(), d.month());
        let first = first_day.first_of_month();
        Month {
            this: name(first),
            next: name(first.checked_add(1.month()).unwrap_or(first)),
            partition: format!("pd_events_{:04}_{:02}", first.year(), first.month()),
        }
    }

    /// The month's events: its partition once filed, else its share of the default one.
    fn relation(&self, filed: bool) -> String {
        if filed {
            self.partition.clone()
        } else {
            format!(
                "(SELECT * FROM pd_events_default WHERE collected_at >= '{}' AND collected_at < '{}') AS m",
                self.this, self.next
            )
        }
    }
}

/// Events of a month not yet filed, waiting in the default partition, are moved into the
/// month's new partition by a sweep only up to this many: the move holds the event table (every
/// writer of events waits) for as long as it takes, so a sweep moves only small months.
const MOVE_AT_MOST: i64 = 2_000;

/// Whether a statement failed for want of a lock within `lock_timeout` (PostgreSQL's
/// `lock_not_available`): the work is then left to the next sweep.
fn lock_not_had<T>(result: &Result<T, sqlx::Error>) -> bool {
    matches!(result, Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03"))
}

fn json<T: ToString>(items: &[T]) -> String {
    serde_json::to_string(&items.iter().map(T::to_string).collect::<Vec<_>>())
        .expect("strings serialize")
}

sql_impl!((impl<DB> SqlStore<DB>) {
    /// Run DDL made of the month's names (no value is bound or interpolated).
    async fn statement(conn: &mut DB::Connection, sql: &str) -> Result<(), StoreError> {
        sqlx::query::<DB>(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut *conn)
            .await
            .map_err(backend::<DB>)?;
        Ok(())
    }

    async fn filed(conn: &mut DB::Connection, month: &Month) -> Result<bool, StoreError> {
        let found: i64 = sqlx::query::<DB>("SELECT count(to_regclass($1))")
            .bind(month.partition.clone())
            .fetch_one(&mut *conn)
            .await
            .map_err(backend::<DB>)?
            .get(0);
        Ok(found > 0)
    }

    /// Whether an event in `relation` keeps its month.
    async fn keeps(
        conn: &mut DB::Connection,
        relation: &str,
        whole: WholeMonth<'_>,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM {relation}
               WHERE key_class NOT IN (SELECT jsonb_array_elements_text($1::jsonb))
                  OR subject_id IN (SELECT value::uuid FROM jsonb_array_elements_text($2::jsonb))
                  OR category IN (SELECT jsonb_array_elements_text($3::jsonb))
               LIMIT 1) AS keeping"
        );
        let keeping: i64 = sqlx::query::<DB>(sqlx::AssertSqlSafe(sql))
            .bind(json(whole.due))
            .bind(json(whole.people))
            .bind(json(whole.categories))
            .fetch_one(&mut *conn)
            .await
            .map_err(backend::<DB>)?
            .get(0);
        Ok(keeping > 0)
    }
});

sql_port!(MonthStore {
    async fn file_months(&self, now: Timestamp) -> Result<(), StoreError> {
        if !DB::EVENT_MONTHS {
            return Ok(());
        }
        let this = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
        let ahead: Vec<String> = (0..3)
            .map(|n| Month::of(this.checked_add(n.months()).unwrap_or(this)).this)
            .collect();
        let mut tx = self.begin().await?;
        // A new partition locks the event table: waiting long for readers that hold it (a
        // backup's copy, say) would queue every writer of events behind the wait, so after
        // 50 ms the filing is left to the next sweep and events wait in the default meanwhile.
        Self::statement(&mut tx, "SET LOCAL lock_timeout = '50ms'").await?;
        sqlx::query::<DB>("SELECT vintrova_drop_empty_months($1)")
            .bind(ahead[0].clone())
            .fetch_all(&mut *tx)
            .await
            .map_err(backend::<DB>)?;
        let filed = sqlx::query::<DB>(
            "SELECT vintrova_event_month(month, $4) FROM (
                 SELECT DISTINCT left(collected_at, 7) AS month FROM pd_events_default
                 UNION VALUES ($1), ($2), ($3)
             ) AS months ORDER BY month",
        )
        .bind(ahead[0].clone())
        .bind(ahead[1].clone())
        .bind(ahead[2].clone())
        .bind(MOVE_AT_MOST)
        .fetch_all(&mut *tx)
        .await;
        if lock_not_had(&filed) {
            return Ok(());
        }
        filed.map_err(backend::<DB>)?;
        tx.commit().await.map_err(backend::<DB>)
    }

    async fn event_months(&self) -> Result<Vec<Date>, StoreError> {
        if !DB::EVENT_MONTHS {
            return Ok(vec![]);
        }
        // Filed, or small enough that the sweep's filing will move it (a dry run asks first).
        let rows = sqlx::query::<DB>(
            "SELECT left(collected_at, 7) FROM pd_events_default GROUP BY 1 HAVING count(*) <= $1
             UNION
             SELECT replace(substr(c.relname::text, 11), '_', '-') FROM pg_inherits i
             JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = to_regclass('pd_events') AND c.relname ~ '^pd_events_[0-9]{4}_[0-9]{2}$'
             ORDER BY 1",
        )
        .bind(MOVE_AT_MOST)
        .fetch_all(&self.pool)
        .await
        .map_err(backend::<DB>)?;
        rows.iter()
            .map(|r| {
                let month: String = r.get(0);
                format!("{month}-01").parse::<Date>().map_err(|_| {
                    backend::<DB>(format!("an event's month `{month}` is not a month"))
                })
            })
            .collect()
    }

    async fn month_leaves_whole(
        &self,
        month: Date,
        whole: WholeMonth<'_>,
    ) -> Result<bool, StoreError> {
        if !DB::EVENT_MONTHS {
            return Ok(false);
        }
        let month = Month::of(month);
        let mut conn = self.pool.acquire().await.map_err(backend::<DB>)?;
        let filed = Self::filed(&mut conn, &month).await?;
        let relation = month.relation(filed);
        let nobody = WholeMonth {
            due: &[],
            people: &[],
            categories: &[],
        };
        // With nothing due, every event keeps the month: "kept" is "has an event".
        Ok(Self::keeps(&mut conn, &relation, nobody).await?
            && !Self::keeps(&mut conn, &relation, whole).await?)
    }

    async fn drop_month(
        &self,
        month: Date,
        whole: WholeMonth<'_>,
    ) -> Result<Option<u64>, StoreError> {
        if !DB::EVENT_MONTHS {
            return Ok(None);
        }
        let month = Month::of(month);
        let mut tx = self.begin().await?;
        if !Self::filed(&mut tx, &month).await? {
            return Ok(None);
        }
        let part = &month.partition;
        // No event comes into the month while it is weighed (events of other months do).
        Self::statement(&mut tx, &format!("LOCK TABLE {part} IN SHARE MODE")).await?;
        if Self::keeps(&mut tx, part, whole).await? {
            return Ok(None);
        }
        // Noted by person, to be accounted for person by person (a month dropped again after a
        // late event filed it anew adds to what is noted).
        let events: i64 = sqlx::query::<DB>(sqlx::AssertSqlSafe(format!(
            "WITH counted AS (
                 SELECT subject_id, category, key_class, count(*) AS events FROM {part}
                 GROUP BY subject_id, category, key_class
             ), noted AS (
                 INSERT INTO expired_by_month (subject_id, month, category, key_class, events)
                 SELECT subject_id, $1, category, key_class, events FROM counted
                 ON CONFLICT (subject_id, month, category, key_class)
                 DO UPDATE SET events = expired_by_month.events + excluded.events
             )
             SELECT CAST(COALESCE(sum(events), 0) AS BIGINT) FROM counted"
        )))
        .bind(month.this.clone())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend::<DB>)?
        .get(0);
        if events == 0 {
            // Nothing to take: an emptied month waits for the next sweep to drop its tables.
            return Ok(None);
        }
        // The month alone is locked (a DROP would lock the person table its key refers to, and
        // every writer with it), and only until the commit that follows at once — no audit
        // append waits in between, which would keep every reader of events waiting with it.
        // Its tables go later, empty (see `file_months`). Readers of events hold the month
        // too: waiting for them long would queue every later reader behind this, so after
        // 50 ms the month is left to the next sweep.
        Self::statement(&mut tx, "SET LOCAL lock_timeout = '50ms'").await?;
        let truncated = sqlx::query::<DB>(sqlx::AssertSqlSafe(format!("TRUNCATE {part}")))
            .execute(&mut *tx)
            .await;
        if lock_not_had(&truncated) {
            return Ok(None);
        }
        truncated.map_err(backend::<DB>)?;
        tx.commit().await.map_err(backend::<DB>)?;
        Ok(Some(events as u64))
    }
});
