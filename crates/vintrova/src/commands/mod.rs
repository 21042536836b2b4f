//! One module per group of commands, each taking its part of the command line and running it
//! as the operator asked. `practice` holds the staff, incident and assessment registers.

pub mod backup;
pub mod demo;
pub mod inbox;
pub mod keys;
pub mod outbox;
pub mod policy;
pub mod request;
pub mod retention;
pub mod serve;
pub mod services;
pub mod subject;
pub mod webhook;
