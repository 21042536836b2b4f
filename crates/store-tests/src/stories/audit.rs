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
