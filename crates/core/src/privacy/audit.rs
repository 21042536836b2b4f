//! The audit log: append-only, hash-chained entries of every touch of personal data.
//!
//! An entry says who did what to whose data, in which categories and for which purpose, and
//! when — never a value. Each entry's hash is a keyed link over the previous hash and the
//! entry, so editing, deleting, inserting or reordering an entry breaks the chain at that
//! entry; the chain's head is anchored in the key store, apart from the data, so cutting
//! entries off the end is caught too.

use crate::words::words;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use vintrova_vault::{Anchor, ChainKey, VaultError};

/// A checkpoint this server did not sign is tampering, as an edited entry is.
pub(crate) fn unsigned_checkpoint(e: VaultError) -> crate::CoreError {
    match e {
        VaultError::CheckpointNotSigned => ChainBreak {
            seq: 0,
            reason: e.to_string(),
        }
        .into(),
        other => other.into(),
    }
}

use crate::Vintrova;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Read,
    Update,
    Export,
    Erase,
    Find,
    RecordBasis,
    RecordConsent,
    OpenAccount,
    ChangePassword,
    RequestPasswordReset,
    CloseAccount,
    Notify,
    ReceiveRequest,
    VerifyRequest,
    CloseRequest,
    RotateKeys,
    PlaceHold,
    ReleaseHold,
    /// The retention sweep deleted what fell due.
    Expire,
    /// The retention sweep pruned the log's oldest part.
    PruneAudit,
    /// Warned that an unused account will close.
    WarnIdle,
    RestoreBackup,
    AddStaff,
    ReissueEnrollment,
    EnrollStaff,
    StaffSignIn,
    StaffSignInFailed,
    /// Too many failed sign-ins: the account is locked for a while.
    LockStaff,
    EnableStaff,
    DisableStaff,
    RecordPaperwork,
    ReportIncident,
    UpdateIncident,
    /// Told the affected people of an incident.
    NotifyIncident,
    RecordAssessment,
    /// Data left for a recipient (R5.2).
    Disclose,
    RecordAgreement,
    PublishPolicy,
    PlanTransfer,
    /// An operator accepted, on the record, that the log lost its tail.
    AcceptAuditBreak,
    /// A new verification code went to a request's or a letter's address (the old one ends).
    ResendCode,
    /// A webhook endpoint was subscribed, changed (a new secret, enabled again), disabled
    /// for failing, or removed.
    AddWebhook,
    ChangeWebhook,
    DisableWebhook,
    RemoveWebhook,
    /// A letter from the mailbox was found to ask for nothing Vintrova answers.
    DismissLetter,
}

words!(Action {
    Create => "create",
    Read => "read",
    Update => "update",
    Export => "export",
    Erase => "erase",
    Find => "find",
    RecordBasis => "record_basis",
    RecordConsent => "record_consent",
    OpenAccount => "open_account",
    ChangePassword => "change_password",
    RequestPasswordReset => "request_password_reset",
    CloseAccount => "close_account",
    Notify => "notify",
    ReceiveRequest => "receive_request",
    VerifyRequest => "verify_request",
    CloseRequest => "close_request",
    RotateKeys => "rotate_keys",
    PlaceHold => "place_hold",
    ReleaseHold => "release_hold",
    Expire => "expire",
    PruneAudit => "prune_audit",
    WarnIdle => "warn_idle",
    RestoreBackup => "restore_backup",
    AddStaff => "add_staff",
    ReissueEnrollment => "reissue_enrollment",
    EnrollStaff => "enroll_staff",
    StaffSignIn => "staff_sign_in",
    StaffSignInFailed => "staff_sign_in_failed",
    LockStaff => "lock_staff",
    EnableStaff => "enable_staff",
    DisableStaff => "disable_staff",
    RecordPaperwork => "record_paperwork",
    ReportIncident => "report_incident",
    UpdateIncident => "update_incident",
    NotifyIncident => "notify_incident",
    RecordAssessment => "record_assessment",
    Disclose => "disclose",
    RecordAgreement => "record_agreement",
    PublishPolicy => "publish_policy",
    PlanTransfer => "plan_transfer",
    AcceptAuditBreak => "accept_audit_break",
    ResendCode => "resend_code",
    AddWebhook => "add_webhook",
    ChangeWebhook => "change_webhook",
    DisableWebhook => "disable_webhook",
    RemoveWebhook => "remove_webhook",
    DismissLetter => "dismiss_letter",
});

/// An entry's content: what happened, before or after it joins the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditDraft {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub subject: Option<Uuid>,
    pub categories: Vec<String>,
    /// The use the gate granted (`support`, `right:access@request:…`, `duty:…`), or what the
    /// entry was done for when no grant was needed.
    pub purpose: Option<String>,
    /// The purpose the caller declared (staff name one on every access, R7.7), kept apart
    /// from what was granted so a stated "support" can never pass for a granted right.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stated_purpose: Option<String>,
    /// What the platform is told of the change, written with the entry and outside the chain
    /// (the entry records the act; the event is a message about it). Kept in an erasure's
    /// intent with the entry, so an erasure carried on after a crash still tells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<crate::events::Event>,
}

impl AuditDraft {
    /// The entry, with the event that tells the platform of its change.
    pub fn telling(mut self, event: crate::events::Event) -> Self {
        self.event = Some(event);
        self
    }

    /// The categories as one column value.
    pub fn categories_column(&self) -> String {
        self.categories.join(",")
    }
}

/// The categories column back as a list.
pub fn parse_categories(column: &str) -> Vec<String> {
    column
        .split(',')
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

/// An entry as the log holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    pub seq: i64,
    #[serde(flatten)]
    pub entry: AuditDraft,
    #[serde(skip)]
    pub prev_hash: Vec<u8>,
    #[serde(skip)]
    pub hash: Vec<u8>,
}

/// The genesis link every chain starts from.
pub const GENESIS: [u8; 32] = [0u8; 32];

/// The canonical bytes of an entry at a position; what the chain key links.
pub fn canonical(seq: i64, draft: &AuditDraft) -> Vec<u8> {
    let mut out = Vec::with_capacity(160);
    canonical_into(
        &mut out,
        seq,
        &RawFields {
            at: &draft.at.to_string(),
            actor: &draft.actor,
            action: &draft.action,
            subject: draft.subject,
            categories: &draft.categories_column(),
            purpose: draft.purpose.as_deref(),
            stated_purpose: draft.stated_purpose.as_deref(),
        },
    );
    out
}

/// An entry's fields as the log stores them: what the link covers, unparsed.
struct RawFields<'a> {
    at: &'a str,
    actor: &'a str,
    action: &'a str,
    subject: Option<Uuid>,
    categories: &'a str,
    purpose: Option<&'a str>,
    stated_purpose: Option<&'a str>,
}

/// The canonical bytes, written into `out` (cleared first): one definition for the sealer, the
/// verifier of parsed entries and the verifier of raw rows.
fn canonical_into(out: &mut Vec<u8>, seq: i64, f: &RawFields<'_>) {
    out.clear();
    out.extend_from_slice(&seq.to_be_bytes());
    let mut part = |part: &str| {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    };
    let mut subject = Uuid::encode_buffer();
    let subject: &str = match f.subject {
        Some(s) => s.hyphenated().encode_lower(&mut subject),
        None => "",
    };
    for p in [
        f.at,
        f.actor,
        f.action,
        subject,
        f.categories,
        f.purpose.unwrap_or_default(),
    ] {
        part(p);
    }
    // Entries written before the stated purpose had its own column link without it, so they
    // still verify; an entry with one links it, so it cannot be added or changed afterwards.
    if let Some(stated) = f.stated_purpose {
        part(stated);
    }
}

/// A stored entry as its row holds it, for verification: nothing the link does not cover is
/// parsed (the time stays the text it was written as).
#[derive(Debug, Clone)]
pub struct RawAuditRow {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: Option<Uuid>,
    pub categories: String,
    pub purpose: Option<String>,
    pub stated_purpose: Option<String>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// Computes the link of a new entry; storage calls it inside the transaction that appends,
/// once it knows the previous entry — and first asks it whether that entry may be built on.
pub struct ChainSealer<'a> {
    key: &'a ChainKey,
    /// The head this server made durable (or found anchored when it started): the log's tail
    /// must be this entry or one after it.
    floor: Option<(i64, Vec<u8>)>,
    /// The last entry pruned (the checkpoint), which may have taken the whole log with it.
    pruned: Option<(i64, Vec<u8>)>,
}

/// The log's tail is not the head that was made durable: entries were cut off the end, or the
/// tail was replaced. Appending would launder the cut, so nothing is appended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the audit log ends at entry {found} but entry {anchored} was made durable: its tail was cut or replaced"
)]
pub struct TailBreak {
    pub found: i64,
    pub anchored: i64,
}

impl<'a> ChainSealer<'a> {
    pub fn new(key: &'a ChainKey) -> Self {
        ChainSealer {
            key,
            floor: None,
            pruned: None,
        }
    }

    /// A sealer that refuses to append after a tail short of `floor`; `pruned` is where the
    /// log was lawfully cut at its start.
    pub fn continuing(
        key: &'a ChainKey,
        floor: Option<(i64, Vec<u8>)>,
        pruned: Option<(i64, Vec<u8>)>,
    ) -> Self {
        ChainSealer { key, floor, pruned }
    }

    /// Where a log with no entry left continues: after the durable head or the last pruned
    /// entry, whichever is later; a log never written starts at the genesis link.
    pub fn start(&self) -> (i64, Vec<u8>) {
        [&self.floor, &self.pruned]
            .into_iter()
            .flatten()
            .max_by_key(|(seq, _)| *seq)
            .cloned()
            .unwrap_or((0, GENESIS.to_vec()))
    }

    /// Whether a new entry may follow `tail` (the table's last entry, if any): only when the
    /// tail is the durable head or lies past it — or, with no entry left, when pruning took
    /// the log past that head.
    pub fn check_tail(&self, tail: Option<(i64, &[u8])>) -> Result<(), TailBreak> {
        let Some((anchored, hash)) = self.floor.as_ref().filter(|(seq, _)| *seq > 0) else {
            return Ok(());
        };
        let pruned_past = self.pruned.as_ref().is_some_and(|(seq, _)| seq >= anchored);
        match tail {
            None if pruned_past => Ok(()),
            Some((seq, _)) if seq > *anchored => Ok(()),
            Some((seq, found)) if seq == *anchored && found == hash.as_slice() => Ok(()),
            other => Err(TailBreak {
                found: other.map_or(0, |(seq, _)| seq),
                anchored: *anchored,
            }),
        }
    }

    pub fn link(&self, prev: &[u8], seq: i64, draft: &AuditDraft) -> [u8; 32] {
        let prev: [u8; 32] = prev.try_into().unwrap_or(GENESIS);
        self.key.link(&prev, &canonical(seq, draft))
    }
}

/// Where and why a chain stopped verifying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit entry {seq} is not what was written: {reason}")]
pub struct ChainBreak {
    pub seq: i64,
    pub reason: String,
}

/// Walks a chain page by page, keeping only the last link in memory.
pub struct ChainVerifier<'a> {
    key: &'a ChainKey,
    anchors: Vec<Anchor>,
    /// Entries up to here were pruned (an interrupted prune may have left some).
    cut: i64,
    expected_seq: i64,
    prev: Vec<u8>,
    /// Reused for each raw row's canonical bytes.
    buffer: Vec<u8>,
}

impl<'a> ChainVerifier<'a> {
    /// `anchors` are the heads as the key store and the head file last recorded them;
    /// `checkpoint` the (seq, hash) of the last entry pruned, where the chain now starts.
    pub fn new(
        key: &'a ChainKey,
        anchors: Vec<Anchor>,
        checkpoint: Option<(i64, Vec<u8>)>,
    ) -> Self {
        let (cut, prev) = checkpoint.unwrap_or((0, GENESIS.to_vec()));
        ChainVerifier {
            key,
            anchors,
            cut,
            expected_seq: cut + 1,
            prev,
            buffer: Vec::with_capacity(256),
        }
    }

    /// Entries verified so far.
    pub fn count(&self) -> i64 {
        self.expected_seq - 1 - self.cut
    }

    pub fn feed(&mut self, record: &AuditRecord) -> Result<(), ChainBreak> {
        let canonical = canonical(record.seq, &record.entry);
        self.check(record.seq, &record.prev_hash, &record.hash, &canonical)
    }

    /// [`ChainVerifier::feed`] for a raw row: its canonical bytes are built straight from the
    /// stored text, into a buffer the verifier keeps.
    pub fn feed_raw(&mut self, row: &RawAuditRow) -> Result<(), ChainBreak> {
        let mut buffer = std::mem::take(&mut self.buffer);
        canonical_into(
            &mut buffer,
            row.seq,
            &RawFields {
                at: &row.at,
                actor: &row.actor,
                action: &row.action,
                subject: row.subject,
                categories: &row.categories,
                purpose: row.purpose.as_deref(),
                stated_purpose: row.stated_purpose.as_deref(),
            },
        );
        let checked = self.check(row.seq, &row.prev_hash, &row.hash, &buffer);
        self.buffer = buffer;
        checked
    }

    fn check(
        &mut self,
        seq: i64,
        prev_hash: &[u8],
        hash: &[u8],
        canonical: &[u8],
    ) -> Result<(), ChainBreak> {
        let fail = |seq, reason: &str| ChainBreak {
            seq,
            reason: reason.to_string(),
        };
        if seq < self.cut {
            return Ok(());
        }
        if seq == self.cut {
            return if hash == self.prev.as_slice() {
                Ok(())
            } else {
                Err(fail(
                    seq,
                    "it is not the entry the checkpoint of the pruned log recorded",
                ))
            };
        }
        if seq > self.expected_seq {
            return Err(fail(
                self.expected_seq,
                "it is missing: entries were deleted from the log",
            ));
        }
        if seq < self.expected_seq {
            return Err(fail(seq, "it appears twice"));
        }
        if prev_hash != self.prev.as_slice() {
            return Err(fail(
                seq,
                "it does not follow the entry before it: entries were inserted, deleted or reordered",
            ));
        }
        let link = self.key.link(
            &self.prev.as_slice().try_into().unwrap_or(GENESIS),
            canonical,
        );
        if hash != link {
            return Err(fail(
                seq,
                "its content or hash was changed after it was written",
            ));
        }
        if let Some(anchor) = self.anchors.iter().find(|a| a.seq == seq && a.hash != hash) {
            return Err(fail(
                seq,
                &format!("it is not the entry {} recorded", anchor.place),
            ));
        }
        self.prev.clear();
        self.prev.extend_from_slice(hash);
        self.expected_seq += 1;
        Ok(())
    }

    /// The chain must reach at least as far as every anchor.
    pub fn finish(self) -> Result<i64, ChainBreak> {
        let last = self.expected_seq - 1;
        match self.anchors.iter().find(|a| a.seq > last) {
            Some(anchor) => Err(ChainBreak {
                seq: last + 1,
                reason: format!(
                    "it is missing: the log ends at entry {last} but {} recorded entry {}; entries were cut off the end",
                    anchor.place, anchor.seq
                ),
            }),
            None => Ok(self.count()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditReport {
    pub entries: i64,
}

/// Audit entries read per page when the chain is verified.
const VERIFY_PAGE: i64 = 5_000;

impl Vintrova {
    /// Walk the whole audit chain; `Err(Tampered)` names the first entry that does not verify.
    pub async fn verify_audit(&self) -> crate::Result<AuditReport> {
        self.verify_audit_witnessed(vec![]).await
    }

    /// The signed head as the head file holds it, for a witness to keep.
    pub fn signed_head(&self) -> crate::Result<String> {
        self.vault.signed_head_text()?.ok_or_else(|| {
            crate::CoreError::Internal(
                "there is no signed head yet: it is written with the first audit entry, to the file --audit-head names".into(),
            )
        })
    }

    /// Verify the chain, and that it still reaches — or was lawfully pruned past — every head
    /// a witness kept (`(source, text)` each): a rollback of log, anchor and head file together
    /// is caught by any earlier witness.
    pub async fn verify_audit_witnessed(
        &self,
        witnesses: Vec<(std::path::PathBuf, String)>,
    ) -> crate::Result<AuditReport> {
        let mut anchors = self.vault.anchors().await?;
        let anchored = !anchors.is_empty();
        for (source, text) in &witnesses {
            anchors.push(self.vault.witnessed(text, source)?);
        }
        let checkpoint = self.vault.checkpoint().await.map_err(unsigned_checkpoint)?;
        if let Some(c) = &checkpoint {
            self.check_checkpoint_term(c)?;
        }
        let checkpoint = checkpoint.map(|c| (c.seq, c.hash));
        let after = checkpoint.as_ref().map_or(0, |c| c.0 - 1);
        let checkpoint_seq = checkpoint.as_ref().map(|c| c.0);
        let mut verifier = ChainVerifier::new(self.vault.chain(), anchors, checkpoint);
        let mut page = self.store.audit_raw_page(after, VERIFY_PAGE).await?;
        // The next page is read while this one is checked: the database and the hashing
        // overlap instead of taking turns.
        while let Some(last) = page.last() {
            let (next, checked) =
                tokio::join!(self.store.audit_raw_page(last.seq, VERIFY_PAGE), async {
                    page.iter().try_for_each(|row| verifier.feed_raw(row))
                });
            checked?;
            page = next?;
        }
        let entries = verifier.finish()?;
        self.check_history_kept(entries, checkpoint_seq, anchored)
            .await?;
        Ok(AuditReport { entries })
    }

    /// A genuine prune only ever cuts entries older than the logs term (R8.1); a checkpoint
    /// whose last pruned entry is younger hides entries that must still be there.
    fn check_checkpoint_term(&self, checkpoint: &vintrova_vault::Checkpoint) -> crate::Result<()> {
        let at: Timestamp = checkpoint.pruned_at.parse().map_err(|_| ChainBreak {
            seq: checkpoint.seq,
            reason: "the checkpoint's time does not read as a time".into(),
        })?;
        let due = crate::retention::due(
            self.policy(),
            self.logs_rule(),
            at,
            None,
            &crate::retention::Anchors::default(),
        );
        if due.is_none_or(|d| d > self.now()) {
            return Err(ChainBreak {
                seq: checkpoint.seq,
                reason: format!(
                    "the checkpoint prunes entries up to {} written at {at}, younger than the logs term: entries that must be kept were deleted",
                    checkpoint.seq
                ),
            }
            .into());
        }
        Ok(())
    }

    /// A log with nothing to show for the history around it was wiped: a head file gone while
    /// the log or the key store shows entries, or no entry and no checkpoint while people are
    /// held.
    async fn check_history_kept(
        &self,
        entries: i64,
        checkpoint: Option<i64>,
        anchored: bool,
    ) -> crate::Result<()> {
        let history = entries > 0 || checkpoint.is_some() || anchored;
        if history && let Some(path) = self.vault.missing_head_file() {
            return Err(ChainBreak {
                seq: 1,
                reason: format!(
                    "the signed head file {} is missing while the log has history: it was deleted",
                    path.display()
                ),
            }
            .into());
        }
        if entries == 0
            && checkpoint.is_none()
            && !self.store.subject_ids(None, 1).await?.is_empty()
        {
            return Err(ChainBreak {
                seq: 1,
                reason: "it is missing: the log holds no entry and no checkpoint while people are held; the log was wiped".into(),
            }
            .into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use vintrova_vault::SecretKey;

    /// A stored log of `len` entries, linked as the store links them.
    fn history(key: &ChainKey, len: usize, salt: u64) -> Vec<AuditRecord> {
        let mut prev = GENESIS.to_vec();
        (1..=len as i64)
            .map(|seq| {
                let entry = AuditDraft {
                    at: Timestamp::from_second(1_700_000_000 + seq * 61).unwrap(),
                    actor: format!("staff:support:{}", (salt + seq as u64) % 7),
                    action: ["read", "create", "export", "erase"]
                        [(seq as usize + salt as usize) % 4]
                        .into(),
                    subject: Some(Uuid::from_u128(u128::from(salt) * 1_000 + seq as u128)),
                    categories: vec!["contact".into()],
                    purpose: Some("support".into()),
                    stated_purpose: (seq % 3 == 0).then(|| "support".into()),
                    event: None,
                };
                let hash = ChainSealer::new(key).link(&prev, seq, &entry).to_vec();
                let record = AuditRecord {
                    seq,
                    entry,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                record
            })
            .collect()
    }

    /// Verify a stored log against the head its anchor recorded.
    fn verify(key: &ChainKey, log: &[AuditRecord], head: &AuditRecord) -> Result<i64, ChainBreak> {
        let anchor = Anchor {
            place: "the key store".into(),
            seq: head.seq,
            hash: head.hash.clone(),
        };
        let mut verifier = ChainVerifier::new(key, vec![anchor], None);
        for record in log {
            verifier.feed(record)?;
        }
        verifier.finish()
    }

    /// The same log through the raw-row path verify uses.
    fn verify_raw(
        key: &ChainKey,
        log: &[AuditRecord],
        head: &AuditRecord,
    ) -> Result<i64, ChainBreak> {
        let anchor = Anchor {
            place: "the key store".into(),
            seq: head.seq,
            hash: head.hash.clone(),
        };
        let mut verifier = ChainVerifier::new(key, vec![anchor], None);
        for r in log {
            verifier.feed_raw(&RawAuditRow {
                seq: r.seq,
                at: r.entry.at.to_string(),
                actor: r.entry.actor.clone(),
                action: r.entry.action.clone(),
                subject: r.entry.subject,
                categories: r.entry.categories_column(),
                purpose: r.entry.purpose.clone(),
                stated_purpose: r.entry.stated_purpose.clone(),
                prev_hash: r.prev_hash.clone(),
                hash: r.hash.clone(),
            })?;
        }
        verifier.finish()
    }

    #[derive(Debug, Clone)]
    enum Tamper {
        Edit(usize, u8),
        Delete(usize),
        Insert(usize),
        Swap(usize),
        Cut(usize),
    }

    fn tamper() -> impl Strategy<Value = Tamper> {
        prop_oneof![
            (any::<usize>(), 0u8..6).prop_map(|(i, f)| Tamper::Edit(i, f)),
            any::<usize>().prop_map(Tamper::Delete),
            any::<usize>().prop_map(Tamper::Insert),
            any::<usize>().prop_map(Tamper::Swap),
            any::<usize>().prop_map(Tamper::Cut),
        ]
    }

    proptest! {
        /// Any single edit, deletion, insertion, swap or cut of a stored log, at any place, is
        /// caught — and the untouched log verifies.
        #[test]
        fn any_single_change_to_a_stored_log_is_caught(
            len in 2usize..40,
            salt in any::<u64>(),
            how in tamper(),
        ) {
            let key = ChainKey::from_secret(SecretKey::from_bytes([7; 32]));
            let log = history(&key, len, salt);
            let head = log.last().unwrap().clone();
            prop_assert_eq!(verify(&key, &log, &head), Ok(len as i64));
            prop_assert_eq!(verify_raw(&key, &log, &head), Ok(len as i64));
            let mut changed = log.clone();
            match how {
                Tamper::Edit(i, field) => {
                    let e = &mut changed[i % len].entry;
                    match field {
                        0 => e.actor.push('x'),
                        1 => e.action = "read_all".into(),
                        2 => e.subject = Some(Uuid::from_u128(42)),
                        3 => e.categories.push("payment".into()),
                        4 => e.purpose = Some("right:access@session".into()),
                        _ => e.stated_purpose = Some("legal_claim".into()),
                    }
                }
                Tamper::Delete(i) => {
                    changed.remove(i % len);
                }
                Tamper::Insert(i) => {
                    let copy = changed[i % len].clone();
                    changed.insert(i % len, copy);
                }
                Tamper::Swap(i) => {
                    let i = i % (len - 1);
                    changed.swap(i, i + 1);
                }
                Tamper::Cut(i) => {
                    changed.truncate(i % len);
                }
            }
            prop_assert!(verify(&key, &changed, &head).is_err(), "{:?} went unnoticed", how);
            prop_assert_eq!(
                verify_raw(&key, &changed, &head),
                verify(&key, &changed, &head),
                "both paths name the same entry"
            );
        }
    }
}
