//! The concepts of DESIGN.md as services: subjects and the data map, the purpose gate, the
//! audit log, retention notes; and the storage port the databases implement.
//!
//! May not: import HTTP or SQL. Every personal datum that enters or leaves goes through
//! [`Vintrova`], which checks it against the data map, seals it in the vault, asks the purpose
//! gate before opening it and writes the audit log.

// The concepts, a folder each; their modules stay reachable at the crate's root
// (`vintrova_core::gate`, …), as every other crate names them.
mod platform;
mod privacy;
pub mod requests;
pub mod retention;
mod security;
mod sharing;
pub mod staff;

pub mod clock;
pub mod crash;
pub mod ledger;
pub mod letters;
pub mod operations;
mod service;
pub mod store;
pub mod text;
mod words;
pub mod workdays;

pub use platform::{
    accounts, endpoints, events, learning, notifications, outbox, payments, records, support,
    webhooks,
};
pub use privacy::{
    appender, audit, consent, copy, datamap, duties, gate, journal, names, placement, receipts,
    transparency, values, versions,
};
pub(crate) use privacy::{collect, erasure, reading};
pub use requests::rights;
pub use retention::{holds, sweep};
pub use security::{assessments, incidents};
pub use sharing::{analytics, disclosures, transfers};

pub use audit::AuditReport;
pub use collect::Collection;
pub use copy::AccessCopy;
pub use erasure::{ErasurePreview, ErasureReceipt, Kept};
pub use reading::{Export, HeldValue, PurposeUse, PurposeView};
pub use service::*;

/// The shipped policy, for the tests beside the code.
#[cfg(test)]
pub(crate) fn shipped_policy() -> vintrova_policy::Policy {
    vintrova_policy::load(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../policy/vintrova.toml"
    )))
    .expect("the shipped policy loads")
}
