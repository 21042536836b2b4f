//! The concepts of DESIGN.md as services: subjects and the data map, the purpose gate, the
//! audit log, retention notes; and the storage port the databases implement.
//!
//! May not: import HTTP or SQL. Every personal datum that enters or leaves goes through
//! [`Vintrova`], which checks it against the data map, seals it in the vault, asks the purpose
//! gate before opening it and writes the audit log.

pub mod accounts;
pub mod analytics;
pub mod assessments;
pub mod audit;
pub mod clock;
mod collect;
pub mod consent;
pub mod datamap;
pub mod disclosures;
pub mod duties;
mod erasure;
pub mod gate;
pub mod holds;
pub mod incidents;
pub mod journal;
pub mod learning;
pub mod ledger;
pub mod names;
pub mod notifications;
pub mod operations;
pub mod outbox;
pub mod payments;
mod reading;
pub mod receipts;
pub mod records;
pub mod requests;
pub mod retention;
pub mod rights;
mod service;
pub mod staff;
pub mod store;
pub mod support;
pub mod sweep;
pub mod transfers;
pub mod transparency;
pub mod values;
pub mod versions;
mod words;
pub mod workdays;

pub use audit::AuditReport;
pub use collect::Collection;
pub use erasure::{ErasureReceipt, Kept};
pub use reading::{Export, HeldValue, PurposeUse, PurposeView};
pub use service::*;
