//! The education platform's own records, kept through the privacy core: accounts and sessions,
//! enrollments and the catalog, payments, support tickets, notices and the outbox that sends
//! them.

pub mod accounts;
pub mod endpoints;
pub mod events;
pub mod learning;
pub mod notifications;
pub mod outbox;
pub mod payments;
pub mod records;
pub mod support;
pub mod webhooks;
