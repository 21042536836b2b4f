//! Named crash points, for fault-injection tests: with `VINTROVA_CRASH_AT` naming one, the
//! process aborts there — no destructor, no flush, as a kill -9 would stop it — so a test can
//! prove that the next run ends in the state an uninterrupted run gives. Unset (always, in
//! operation), a point is one comparison.

use std::sync::OnceLock;

/// An erasure's intent is durable; no key is destroyed yet.
pub const ERASE_INTENT_RECORDED: &str = "erase:intent-recorded";
/// The keys are destroyed; the rows, the receipt and the audit entry are not yet written.
pub const ERASE_KEYS_DESTROYED: &str = "erase:keys-destroyed";
/// Everything is written; the caller has not been answered.
pub const ERASE_DONE: &str = "erase:done";

/// A restore put the backup's copy in place; erasures since the backup are not re-applied yet.
pub const RESTORE_COPY_IN_PLACE: &str = "restore:copy-in-place";
/// A restore re-applied the erasures; the sweep has not run yet.
pub const RESTORE_ERASURES_REAPPLIED: &str = "restore:erasures-reapplied";

/// The sweep destroyed a person's keys; their rows, receipt and audit entry are not written yet.
pub const SWEEP_KEYS_DESTROYED: &str = "sweep:keys-destroyed";
/// The sweep dropped a whole month of events; the people it took are not yet accounted for.
pub const SWEEP_MONTH_DROPPED: &str = "sweep:month-dropped";
/// The outbox handed a message to the transport; it is not yet marked sent.
pub const OUTBOX_SENT: &str = "outbox:sent";

/// Every point, for the documentation and the tests that kill at each.
pub const POINTS: &[&str] = &[
    ERASE_INTENT_RECORDED,
    ERASE_KEYS_DESTROYED,
    ERASE_DONE,
    RESTORE_COPY_IN_PLACE,
    RESTORE_ERASURES_REAPPLIED,
    SWEEP_KEYS_DESTROYED,
    SWEEP_MONTH_DROPPED,
    OUTBOX_SENT,
];

/// Stop here, as a kill would, when `VINTROVA_CRASH_AT` names this point.
pub fn point(name: &str) {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    if AT
        .get_or_init(|| std::env::var("VINTROVA_CRASH_AT").ok())
        .as_deref()
        == Some(name)
    {
        eprintln!("crash point {name}: stopping as a kill -9 would");
        std::process::abort();
    }
}
