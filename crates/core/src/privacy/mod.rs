//! The privacy core: the data map and the values it admits, the purpose gate and the claims it
//! weighs, the consent ledger, collecting, reading and erasing a person's data, the audit log,
//! erasure receipts and the policy's versions. Everything else in core reaches personal data
//! through here.

pub mod appender;
pub mod audit;
pub(crate) mod collect;
pub mod consent;
pub mod copy;
pub mod datamap;
pub mod duties;
pub(crate) mod erasure;
pub mod gate;
pub mod journal;
pub mod names;
pub mod placement;
pub(crate) mod reading;
pub mod receipts;
pub mod transparency;
pub mod values;
pub mod versions;
