//! Append-only books: paperwork, incidents, assessments, disclosures, versions.

use super::*;

sql_port!(LedgerStore {

    async fn append_ledger(
        &self,
        entry: &LedgerEntry,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError> {
        let mut tx = self.open_write(None).await?;
        sqlx::query::<DB>(
            "INSERT INTO ledger (book, entity, at, actor, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(entry.book.clone())
        .bind(entry.entity)
        .bind(entry.at.to_string())
        .bind(entry.actor.clone())
        .bind(entry.body.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        Self::commit_audited(tx, audit, sealer).await
    }


    async fn ledger(
        &self,
        book: &str,
        entity: Option<Uuid>,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        const LEDGER: &str = "SELECT book, entity, at, actor, body FROM ledger WHERE book = $1";
        let query = match entity {
            Some(id) => sqlx::query::<DB>(sqlx::AssertSqlSafe(format!(
                "{LEDGER} AND entity = $2 ORDER BY seq"
            )))
            .bind(book.to_string())
            .bind(id),
            None => sqlx::query::<DB>(sqlx::AssertSqlSafe(format!("{LEDGER} ORDER BY seq")))
                .bind(book.to_string()),
        };
        let rows = query.fetch_all(&self.pool).await.map_err(backend::<DB>)?;
        rows.iter()
            .map(|r| {
                Ok(LedgerEntry {
                    book: r.get(0),
                    entity: r.get(1),
                    at: time::<DB>(&r.get::<String, _>(2))?,
                    actor: r.get(3),
                    body: serde_json::from_str(&r.get::<String, _>(4)).map_err(backend::<DB>)?,
                })
            })
            .collect()
    }
});
