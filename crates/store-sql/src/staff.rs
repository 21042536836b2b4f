//! Staff accounts and their sessions.

use super::*;

sql_impl!((impl<DB> SqlStore<DB>) {
    fn staff_of(r: &DB::Row) -> Result<StaffRecord, StoreError> {
        let role: String = r.get(2);
        let optional_time = |i: usize| {
            r.get::<Option<String>, _>(i)
                .as_deref()
                .map(time::<DB>)
                .transpose()
        };
        Ok(StaffRecord {
            id: r.get(0),
            login: r.get(1),
            role: Role::parse(&role)
                .ok_or_else(|| backend::<DB>(format!("unknown staff role `{role}`")))?,
            password_hash: r.get(3),
            totp_sealed: r.get(4),
            totp_last_step: r.get(5),
            enrollment_digest: r.get(6),
            enrollment_expires: optional_time(7)?,
            failed_attempts: r.get(8),
            locked_until: optional_time(9)?,
            active: r.get::<i64, _>(10) != 0,
            created_at: time::<DB>(&r.get::<String, _>(11))?,
        })
    }
});

sql_port!(StaffStore {

    async fn put_staff(
        &self,
        staff: &StaffRecord,
        audit: Option<&AuditDraft>,
        sealer: &ChainSealer<'_>,
    ) -> Result<Option<ChainHead>, StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query::<DB>(
            "INSERT INTO staff (id, login, role, password_hash, totp_sealed, totp_last_step,
                 enrollment_digest, enrollment_expires, failed_attempts, locked_until, active, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (id) DO UPDATE SET login = excluded.login, role = excluded.role,
                 password_hash = excluded.password_hash, totp_sealed = excluded.totp_sealed,
                 totp_last_step = excluded.totp_last_step, enrollment_digest = excluded.enrollment_digest,
                 enrollment_expires = excluded.enrollment_expires, failed_attempts = excluded.failed_attempts,
                 locked_until = excluded.locked_until, active = excluded.active",
        )
        .bind(staff.id)
        .bind(staff.login.clone())
        .bind(staff.role.as_str().to_string())
        .bind(staff.password_hash.clone())
        .bind(staff.totp_sealed.clone())
        .bind(staff.totp_last_step)
        .bind(staff.enrollment_digest.clone())
        .bind(staff.enrollment_expires.map(|t| t.to_string()))
        .bind(staff.failed_attempts)
        .bind(staff.locked_until.map(|t| t.to_string()))
        .bind(i64::from(staff.active))
        .bind(staff.created_at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend::<DB>)?;
        match audit {
            Some(audit) => Self::commit_audited(tx, audit, sealer).await.map(Some),
            None => {
                tx.commit().await.map_err(backend::<DB>)?;
                Ok(None)
            }
        }
    }


    async fn find_staff(&self, by: StaffLookup<'_>) -> Result<Option<StaffRecord>, StoreError> {
        let query = match by {
            StaffLookup::Id(id) => {
                sqlx::query::<DB>(sqlx::AssertSqlSafe(format!("{STAFF} WHERE id = $1"))).bind(id)
            }
            StaffLookup::Login(login) => {
                sqlx::query::<DB>(sqlx::AssertSqlSafe(format!("{STAFF} WHERE login = $1")))
                    .bind(login.to_string())
            }
            StaffLookup::Enrollment(digest) => sqlx::query::<DB>(sqlx::AssertSqlSafe(format!(
                "{STAFF} WHERE enrollment_digest = $1"
            )))
            .bind(digest.to_vec()),
        };
        let row = query
            .fetch_optional(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        row.as_ref().map(Self::staff_of).transpose()
    }


    async fn all_staff(&self) -> Result<Vec<StaffRecord>, StoreError> {
        let rows = sqlx::query::<DB>(sqlx::AssertSqlSafe(format!(
            "{STAFF} ORDER BY created_at, id"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(backend::<DB>)?;
        rows.iter().map(Self::staff_of).collect()
    }


    async fn insert_staff_session(&self, session: &StaffSessionRecord) -> Result<(), StoreError> {
        sqlx::query::<DB>(
            "INSERT INTO staff_sessions (token_digest, staff_id, created_at, last_seen_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(session.token_digest.clone())
        .bind(session.staff)
        .bind(session.created_at.to_string())
        .bind(session.last_seen_at.to_string())
        .execute(&self.writer)
        .await
        .map_err(backend::<DB>)?;
        Ok(())
    }


    async fn staff_session(
        &self,
        token_digest: &[u8],
    ) -> Result<Option<StaffSessionRecord>, StoreError> {
        let row = self
            .row_by_digest(
                "SELECT staff_id, created_at, last_seen_at FROM staff_sessions WHERE token_digest = $1",
                token_digest,
            )
            .await?;
        row.map(|r| {
            Ok(StaffSessionRecord {
                token_digest: token_digest.to_vec(),
                staff: r.get(0),
                created_at: time::<DB>(&r.get::<String, _>(1))?,
                last_seen_at: time::<DB>(&r.get::<String, _>(2))?,
            })
        })
        .transpose()
    }


    async fn touch_staff_session(
        &self,
        token_digest: &[u8],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query::<DB>("UPDATE staff_sessions SET last_seen_at = $2 WHERE token_digest = $1")
            .bind(token_digest.to_vec())
            .bind(at.to_string())
            .execute(&self.writer)
            .await
            .map_err(backend::<DB>)?;
        Ok(())
    }


    async fn delete_staff_sessions(
        &self,
        staff: Option<Uuid>,
        token_digest: Option<&[u8]>,
    ) -> Result<u64, StoreError> {
        self.end_sessions("staff_sessions", "staff_id", staff, token_digest)
            .await
    }
});
