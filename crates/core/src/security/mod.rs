//! The security practice's registers (R7.8, R7.9): incidents on their legal clock, and security
//! audits and risk assessments with their follow-ups. Staff, their roles and paperwork are in
//! `staff`.

pub mod assessments;
pub mod incidents;
