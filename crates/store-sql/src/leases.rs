//! Leases that keep two servers from running one job at once.

use super::*;

sql_port!(LeaseStore {

    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query::<DB>(
            "INSERT INTO leases (name, holder, until_us) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_us = excluded.until_us
             WHERE leases.until_us <= $4",
        )
        .bind(name.to_string())
        .bind(holder.to_string())
        .bind(until.as_microsecond())
        .bind(now.as_microsecond())
        .execute(&self.writer)
        .await
        .map_err(backend::<DB>)?;
        Ok(DB::rows_affected(&done) == 1)
    }


    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query::<DB>("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name.to_string())
            .bind(holder.to_string())
            .execute(&self.writer)
            .await
            .map_err(backend::<DB>)?;
        Ok(())
    }
});
