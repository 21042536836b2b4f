//! What the web and the binary need of the store and the vault, as core operations: neither
//! is lent out, so every touch of personal data goes through the gate and the audit log, and
//! what is not personal data (health, counts, the newest audit entries, the receipt key,
//! leases) is answered here, narrowly.

use jiff::SignedDuration;
use serde::Serialize;
use uuid::Uuid;
use vintrova_vault::{MasterKey, PublicKey};

use crate::audit::{Action, AuditRecord, TailBreak};
use crate::requests::Request;
use crate::store::ChainHead;
use crate::values::{InvalidInput, looks_personal};
use crate::{Actor, CoreError, Result, Vintrova};

/// Whether the server can reach what it needs, and may serve personal data.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    pub database: bool,
    pub key_store: bool,
    /// The audit log's tail is the head made durable, so accesses can be recorded; while it is
    /// not, personal data is not served.
    pub audit_log: bool,
}

impl Vintrova {
    /// One indexed read from each: the database, and the key store kept apart from it.
    pub async fn health(&self) -> Health {
        Health {
            backend: self.store().backend(),
            database: self.store().subject(Uuid::nil()).await.is_ok(),
            key_store: self.vault().key_store().chain_anchor().await.is_ok(),
            audit_log: self.audit_tail_break().await.is_ok_and(|b| b.is_none()),
        }
    }

    /// How the audit appender has grouped entries and heads into turns since start.
    pub fn appender_counts(&self) -> crate::appender::AppenderCounts {
        self.appender.counts()
    }

    /// How the log's tail falls short of the durable head, if it does.
    pub async fn audit_tail_break(&self) -> Result<Option<TailBreak>> {
        Ok(self.audit_tail_and_break().await?.1)
    }

    /// The log's tail, and how it falls short of the durable head, if it does.
    async fn audit_tail_and_break(&self) -> Result<(Option<ChainHead>, Option<TailBreak>)> {
        let sealer = self.sealer().await?;
        let tail = self.store().audit_tail().await?;
        let broken = sealer
            .check_tail(tail.as_ref().map(|(seq, hash)| (*seq, hash.as_slice())))
            .err();
        Ok((tail, broken))
    }

    /// Accept, on the record, that the log lost its tail: the anchors move back to the tail
    /// that is there, and an entry says what was found, who accepted it and why. Until then
    /// the appender refuses, and personal data is not served. `reason` is the operator's
    /// account of what they found — no one's personal data.
    pub async fn accept_audit_break(&self, actor: &Actor, reason: &str) -> Result<TailBreak> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 || looks_personal(reason) {
            return Err(InvalidInput::one(
                "reason",
                "must say, in up to 500 characters and without anyone's personal data, what was found and why it is accepted",
                "e.g. `restored the database from the 03:00 snapshot after a disk failure; entries after it are lost`",
            )
            .into());
        }
        self.reload_durable_head();
        let (tail, broken) = self.audit_tail_and_break().await?;
        let Some(found) = broken else {
            return Err(InvalidInput::one(
                "reason",
                "there is no break to accept: the log's tail is the head made durable",
                "`vintrova audit verify` for the log's state",
            )
            .into());
        };
        let (seq, hash) = match tail {
            Some(tail) => tail,
            None => self.sealer().await?.start(),
        };
        self.vault().accept_head(seq, &hash).await?;
        self.reload_durable_head();
        let purpose = format!(
            "audit_break:found={},anchored={}",
            found.found, found.anchored
        );
        let accepting = actor.clone().for_purpose(reason);
        self.log(self.draft(
            &accepting,
            Action::AcceptAuditBreak,
            None,
            vec![],
            Some(purpose),
        ))
        .await?;
        tracing::warn!(
            found = found.found,
            anchored = found.anchored,
            "an operator accepted the audit log's break"
        );
        Ok(found)
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.store().backend()
    }

    /// The newest `count` audit entries, newest last: who did what, never a value.
    pub async fn recent_audit(&self, count: i64) -> Result<Vec<AuditRecord>> {
        let head = self
            .vault()
            .key_store()
            .chain_anchor()
            .await
            .map_err(vintrova_vault::VaultError::from)?
            .map_or(0, |(seq, _)| seq);
        Ok(self
            .store()
            .audit_page((head - count).max(0), count)
            .await?)
    }

    /// Messages in the outbox by state.
    pub async fn outbox_counts(&self) -> Result<Vec<(String, i64)>> {
        Ok(self.store().outbox_counts().await?)
    }

    /// The public key erasure receipts are signed with, as published.
    pub fn receipt_key(&self) -> PublicKey {
        self.vault().signing().public()
    }

    /// Whether `subject`'s contract is in force (its basis events say so): no data is read.
    pub async fn contract_in_force_of(&self, subject: Uuid) -> Result<bool> {
        self.contract_in_force(subject).await
    }

    /// Whether `subject` is known (not erased, never unknown): no data is read.
    pub async fn is_known(&self, subject: Uuid) -> Result<bool> {
        Ok(self.store().subject(subject).await?.is_some())
    }

    /// A rights request as the queue keeps it: its right, state and clock, no content.
    pub async fn request(&self, id: Uuid) -> Result<Option<Request>> {
        Ok(self.store().request(id).await?)
    }

    /// Take the lease `name` for `holder` for `term`, without releasing it: a job that runs
    /// once per term across every server (the daily sweep). `false` when another holds it.
    pub async fn claim_lease(
        &self,
        name: &str,
        holder: &str,
        term: SignedDuration,
    ) -> Result<bool> {
        let now = self.now();
        let until = now
            .checked_add(term)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        Ok(self.store().take_lease(name, holder, now, until).await?)
    }

    /// Run `job` only if no other server holds the lease `name`; `None` when one does. The
    /// lease lives in the database, so it holds across servers; a crashed holder's lease runs
    /// out after `minutes`.
    pub async fn exclusively<T>(
        &self,
        name: &str,
        holder: &str,
        minutes: i64,
        job: impl std::future::Future<Output = Result<T>>,
    ) -> Result<Option<T>> {
        if !self
            .claim_lease(name, holder, SignedDuration::from_mins(minutes))
            .await?
        {
            return Ok(None);
        }
        let result = job.await;
        self.store().release_lease(name, holder).await?;
        result.map(Some)
    }

    /// Record that a backup was restored, before its erasures are re-applied.
    pub async fn audit_restore(&self, actor: &Actor) -> Result<()> {
        self.log(self.draft(actor, Action::RestoreBackup, None, vec![], None))
            .await
    }

    /// Re-wrap every data key under `next` without touching the data, and log it. Returns how
    /// many keys were re-wrapped.
    pub async fn rotate_master_key(&self, actor: &Actor, next: &MasterKey) -> Result<usize> {
        let count = self.vault().rotate(next).await?;
        self.log(self.draft(actor, Action::RotateKeys, None, vec![], None))
            .await?;
        Ok(count)
    }

    /// Send today's signed audit head to the data protection service's mailbox, once a day
    /// (the Message-ID is the day's): a witness the database's administrators cannot reach.
    /// `false` when today's went already.
    pub async fn mail_head_to_witness(&self) -> Result<bool> {
        let head = self.signed_head()?;
        let today = self.now().to_zoned_datetime(self.policy().zone()).date();
        let body = format!(
            "The signed head of Vintrova's audit log on {today}. Keep this message: \
             `vintrova audit verify --witness FILE` with its last line in FILE proves the log \
             still holds everything up to it.\n\n{head}"
        );
        self.tell_the_service(
            format!("<audit-head-{today}@vintrova.outbox>"),
            "audit:head",
            "Vintrova: audit log head",
            &body,
        )
        .await
    }
}
