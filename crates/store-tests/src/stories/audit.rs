//! The audit chain under concurrent writers and under every kind of tampering.

use super::*;

/// Concurrent writers keep one linear chain.
pub async fn concurrent_writes_keep_one_audit_chain(h: &Harness) {
    let mut tasks = Vec::new();
    for i in 0..12 {
        let doc = json!({"contact": {"first_name": format!("Студент{i}"), "email": format!("s{i}@mail.kz")}});
        tasks.push(add(h, doc, contract()));
    }
    // Polled together, so their transactions interleave.
    let ids: Vec<Uuid> = futures::future::join_all(tasks).await;
    assert_eq!(ids.len(), 12);
    assert_eq!(audit_len(h).await, 12);
}

/// Issue 18, group commit: readers at once hand their entries to the appender, which writes
/// them in fewer turns than there are entries (each turn one transaction, one anchor, one
/// sync) — and still no reader is answered before its access is on record and anchored.
pub async fn concurrent_reads_are_recorded_in_batches_each_before_its_answer(h: &Harness) {
    let actor = operator();
    let id = add(h, aigerim(), contract()).await;
    let base = audit_len(h).await as i64;
    let before = h.app.appender_counts();
    let answered = std::sync::atomic::AtomicI64::new(0);
    let reads = (0..32).map(|_| async {
        h.app.read(&actor, id, "support").await.unwrap();
        let answered = answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        // Every answered read's entry lies at or below the anchor, and the entries are
        // distinct: the anchor has moved at least one place per answer.
        let (anchored, _) = h.vault().key_store().chain_anchor().await.unwrap().unwrap();
        assert!(
            anchored >= base + answered,
            "{answered} reads answered but the anchor is at {anchored}: one was answered before its entry was durable"
        );
    });
    futures::future::join_all(reads).await;
    let after = h.app.appender_counts();
    assert_eq!(after.entries - before.entries, 32);
    assert!(
        after.turns - before.turns < 32,
        "32 entries took {} turns: nothing was grouped",
        after.turns - before.turns
    );
    assert_eq!(h.app.verify_audit().await.unwrap().entries, base + 32);
    let reads = h.store().audit_of(id).await.unwrap();
    assert_eq!(
        reads.iter().filter(|r| r.entry.action == "read").count(),
        32
    );
}

/// How an attacker may tamper with the log, and the entry `audit verify` must name.
pub enum Tampering {
    Edit,
    Delete,
    Insert,
    Reorder,
    Truncate,
    /// Cut off the end and move the key store's anchor back too: only the head file outside
    /// the database still knows.
    TruncateAndRewind,
}

/// The audit chain verifies untouched, and each kind of tampering names the first bad entry.
pub async fn audit_tampering_is_detected(h: &Harness, how: Tampering) {
    for i in 0..3 {
        add(
            h,
            json!({"contact": {"first_name": format!("Имя{i}")}}),
            contract(),
        )
        .await;
    }
    assert_eq!(audit_len(h).await, 3);
    let sql = match how {
        Tampering::Edit => "UPDATE audit_log SET actor = 'test:someone-else' WHERE seq = 2",
        Tampering::Delete => "DELETE FROM audit_log WHERE seq = 2",
        Tampering::Insert => {
            "UPDATE audit_log SET seq = 4 WHERE seq = 3;
             UPDATE audit_log SET seq = 3 WHERE seq = 2;
             INSERT INTO audit_log (seq, at, actor, action, subject_id, categories, purpose, prev_hash, hash)
               SELECT 2, at, actor, 'read', subject_id, categories, purpose, prev_hash, hash FROM audit_log WHERE seq = 3"
        }
        Tampering::Reorder => {
            "UPDATE audit_log SET seq = -2 WHERE seq = 2;
             UPDATE audit_log SET seq = 2 WHERE seq = 3;
             UPDATE audit_log SET seq = 3 WHERE seq = -2"
        }
        Tampering::Truncate | Tampering::TruncateAndRewind => {
            "DELETE FROM audit_log WHERE seq = 3"
        }
    };
    h.tamper(sql).await;
    if matches!(how, Tampering::TruncateAndRewind) {
        let second = h.store().audit_page(1, 1).await.unwrap();
        h.rewind_key_store_anchor(2, &second[0].hash).await;
        // The database alone now tells a consistent story...
        let without_head = h.reopen(h.master.clone()).await.unwrap();
        assert_eq!(without_head.verify_audit().await.unwrap().entries, 2);
        assert!(h.head_file().exists());
    }
    // ...but not to a server that keeps its head outside it.
    match h.app.verify_audit().await {
        Err(CoreError::Tampered(brk)) => {
            let expected = match how {
                Tampering::Truncate | Tampering::TruncateAndRewind => 3,
                _ => 2,
            };
            assert_eq!(brk.seq, expected, "{}", brk.reason);
            if matches!(how, Tampering::TruncateAndRewind) {
                assert!(brk.reason.contains("head file"), "{}", brk.reason);
            }
        }
        other => panic!("tampering went unnoticed: {other:?}"),
    }
}

/// Issue 18: a cut tail is not laundered by ordinary use. The appender builds only on the head
/// it made durable, so after the newest entries are deleted every audited read and write is
/// refused — also by a server started afterwards — and health says so, until an operator
/// accepts the break on the record; then the log verifies again, with that entry in it.
pub async fn a_cut_tail_stops_personal_data_until_an_operator_accepts_it(h: &Harness) {
    let actor = operator();
    let id = add(h, aigerim(), contract()).await;
    for _ in 0..3 {
        h.app.read(&actor, id, "support").await.unwrap();
    }
    assert_eq!(audit_len(h).await, 4);
    assert!(h.app.health().await.audit_log);
    h.tamper("DELETE FROM audit_log WHERE seq >= 3").await;

    // Ordinary use would append after entry 2; the appender refuses instead, and nothing is
    // served or stored.
    let broken = |r: Result<_, CoreError>| matches!(r, Err(CoreError::AuditBroken(b)) if b.found == 2 && b.anchored == 4);
    assert!(broken(h.app.read(&actor, id, "support").await.map(|_| ())));
    assert!(broken(
        h.app
            .record_basis(&actor, id, BasisEventKind::Restricted, None, "staff_entry")
            .await
    ));
    let values = h
        .app
        .parse_json(&json!({"contact": {"first_name": "Новый", "email": "new.after.cut@mail.kz"}}))
        .unwrap();
    assert!(broken(
        h.app
            .add_subject(&actor, values, consenting(&[]))
            .await
            .map(|_| ())
    ));
    assert!(
        !h.app.health().await.audit_log,
        "health names the audit log"
    );
    let restarted = h.reopen(h.master.clone()).await.unwrap();
    assert!(
        broken(restarted.read(&actor, id, "support").await.map(|_| ())),
        "a restart does not forget: the anchors remember entry 4"
    );
    assert!(matches!(
        h.app.verify_audit().await,
        Err(CoreError::Tampered(brk)) if brk.seq == 3
    ));
    assert_eq!(
        audit_len_raw(h).await,
        2,
        "nothing was appended after the cut"
    );

    // Accepting needs a reason without personal data, and is itself on the record.
    let operator_at_console = Actor::new("cli", "operator");
    assert!(matches!(
        h.app
            .accept_audit_break(
                &operator_at_console,
                "aigerim.nurlanova.test@почта.kz asked"
            )
            .await,
        Err(CoreError::Invalid(_))
    ));
    let reason = "the database was restored from a snapshot taken before the last reads";
    let found = h
        .app
        .accept_audit_break(&operator_at_console, reason)
        .await
        .unwrap();
    assert_eq!((found.found, found.anchored), (2, 4));
    assert!(h.app.health().await.audit_log);
    h.app.read(&actor, id, "support").await.unwrap();
    assert_eq!(audit_len(h).await, 4, "two kept, the acceptance, the read");
    let page = h.store().audit_page(0, 100).await.unwrap();
    let accepted = &page[2].entry;
    assert_eq!(accepted.action, "accept_audit_break");
    assert_eq!(
        accepted.purpose.as_deref(),
        Some("audit_break:found=2,anchored=4")
    );
    assert_eq!(accepted.stated_purpose.as_deref(), Some(reason));
    assert!(
        matches!(
            h.app.accept_audit_break(&operator_at_console, reason).await,
            Err(CoreError::Invalid(_))
        ),
        "there is nothing left to accept"
    );
}

/// How many entries the table holds, verified or not.
async fn audit_len_raw(h: &Harness) -> usize {
    h.store().audit_page(0, 10_000).await.unwrap().len()
}

/// Issue 18: the evidence outside the log cannot simply be removed. A deleted head file, while
/// the log has history, fails verification; so does a log wiped whole — entries, anchor and
/// head file — while people are still held.
pub async fn a_deleted_head_file_or_a_wiped_log_fails_verification(h: &Harness) {
    add(h, aigerim(), contract()).await;
    assert_eq!(audit_len(h).await, 1);
    std::fs::remove_file(h.head_file()).unwrap();
    match h.app.verify_audit().await {
        Err(CoreError::Tampered(brk)) => {
            assert!(brk.reason.contains("head file"), "{}", brk.reason)
        }
        other => panic!("a deleted head file went unnoticed: {other:?}"),
    }
    h.tamper("DELETE FROM audit_log").await;
    h.rewind_key_store_anchor(0, &[0u8; 32]).await;
    // A server that keeps no head file sees only the database: an empty log, people held.
    let without_head = h.reopen(h.master.clone()).await.unwrap();
    match without_head.verify_audit().await {
        Err(CoreError::Tampered(brk)) => {
            assert!(brk.reason.contains("wiped"), "{}", brk.reason)
        }
        other => panic!("a wiped log went unnoticed: {other:?}"),
    }
}

/// Issue 18: a prefix of the log cannot be deleted behind a checkpoint. Even one signed with
/// the server's key is refused when it cuts entries younger than the logs term; one written
/// straight into the key store carries no signature and is refused.
pub async fn a_forged_or_premature_checkpoint_fails_verification(h: &Harness) {
    for i in 0..3 {
        add(
            h,
            json!({"contact": {"first_name": format!("Имя{i}")}}),
            contract(),
        )
        .await;
    }
    let page = h.store().audit_page(0, 10).await.unwrap();
    let (first, second) = (page[0].clone(), page[1].clone());

    // Signed by the server's own key, but the entry it prunes was written minutes ago.
    h.tamper("DELETE FROM audit_log WHERE seq <= 1").await;
    h.vault()
        .set_checkpoint(1, &first.hash, &first.entry.at.to_string())
        .await
        .unwrap();
    match h.app.verify_audit().await {
        Err(CoreError::Tampered(brk)) => {
            assert!(
                brk.reason.contains("younger than the logs term"),
                "{}",
                brk.reason
            )
        }
        other => panic!("a premature checkpoint went unnoticed: {other:?}"),
    }

    // Written straight into the key store: no signature of ours.
    h.tamper("DELETE FROM audit_log WHERE seq <= 2").await;
    h.forge_checkpoint(2, &second.hash).await;
    match h.app.verify_audit().await {
        Err(CoreError::Tampered(brk)) => {
            assert!(brk.reason.contains("not signed"), "{}", brk.reason)
        }
        other => panic!("a forged checkpoint went unnoticed: {other:?}"),
    }
    // A server started on it refuses to append after it, too.
    let restarted = h.reopen(h.master.clone()).await.unwrap();
    let values = restarted
        .parse_json(&json!({"contact": {"first_name": "После"}}))
        .unwrap();
    let refused = restarted
        .add_subject(&operator(), values, consenting(&[]))
        .await;
    assert!(
        matches!(refused, Err(CoreError::Tampered(_))),
        "{refused:?}"
    );
}

/// Issue 18: the data protection service's mailbox is a witness: the day's signed head goes
/// there once a day, and it proves the log later.
pub async fn the_signed_head_goes_to_the_data_protection_service_once_a_day(h: &Harness) {
    add(h, aigerim(), contract()).await;
    assert!(h.app.mail_head_to_witness().await.unwrap());
    assert!(!h.app.mail_head_to_witness().await.unwrap(), "once a day");
    let claimed = h.app.claim_outbox(10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let mail = h.app.open_message(&claimed[0]).unwrap();
    assert_eq!(mail.to, h.app.policy().contact.email);
    let head = mail.body.lines().last().unwrap().to_string();
    assert_eq!(format!("{head}\n"), h.app.signed_head().unwrap());
    add(h, aigerim_twin_for_witness(), contract()).await;
    let kept = (std::path::PathBuf::from("the DPO's mailbox"), head);
    assert!(h.app.verify_audit_witnessed(vec![kept]).await.is_ok());
}

fn aigerim_twin_for_witness() -> Value {
    let mut doc = aigerim();
    doc["contact"]["email"] = "witness.twin@mail.kz".into();
    doc
}

/// Issue 18: a rollback of log, key-store anchor and head file together, to an earlier state the
/// server signed, is invisible to the server alone and caught by a witness who kept a later head.
pub async fn a_rollback_of_everything_on_the_server_is_caught_by_a_later_witness(h: &Harness) {
    add(h, aigerim(), contract()).await;
    let older_head = std::fs::read(h.head_file()).unwrap();
    add(h, json!({"contact": {"first_name": "Ерлан"}}), contract()).await;
    let witness = (
        std::path::PathBuf::from("the DPO's copy"),
        h.app.signed_head().unwrap(),
    );
    assert_eq!(
        h.app
            .verify_audit_witnessed(vec![witness.clone()])
            .await
            .unwrap()
            .entries,
        2
    );

    h.tamper("DELETE FROM audit_log WHERE seq = 2").await;
    let first = h.store().audit_page(0, 1).await.unwrap();
    h.rewind_key_store_anchor(1, &first[0].hash).await;
    std::fs::write(h.head_file(), older_head).unwrap();
    let rolled_back = h.reopen(h.master.clone()).await.unwrap();
    assert_eq!(
        rolled_back.verify_audit().await.unwrap().entries,
        1,
        "nothing on the server remembers more"
    );
    match h.app.verify_audit_witnessed(vec![witness]).await {
        Err(CoreError::Tampered(brk)) => {
            assert_eq!(brk.seq, 2);
            assert!(brk.reason.contains("the witness"), "{}", brk.reason);
        }
        other => panic!("the rollback went unnoticed: {other:?}"),
    }
}
