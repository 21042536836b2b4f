//! Data leaving the operator (R5, R9): disclosures to the policy's recipients, transfers abroad,
//! and the anonymized analytics that may go to an analytics service.

pub mod analytics;
pub mod disclosures;
pub mod transfers;
