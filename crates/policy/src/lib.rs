//! The privacy policy as data.
//!
//! Lives here: the model of `policy/vintrova.toml` (categories, fields, purposes, legal bases,
//! retention rules, recipients, countries, contacts) and its validation, which reports every
//! problem with the path where it sits. May not: read files, talk to a database, know HTTP.
//! Every other crate learns what a category, purpose or retention period is from this model;
//! none of them spells one out.

mod diff;
mod model;
mod validate;

pub use diff::{Change, PolicyDiff, diff};
pub use model::*;
pub use validate::{Problem, load};

/// Why a policy text could not become a [`Policy`].
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "the policy is not valid TOML or does not fit the policy schema at `{path}`: {message}"
    )]
    Shape { path: String, message: String },
    #[error("the policy has {} problem(s):\n{}", .0.len(), Problem::list(.0))]
    Invalid(Vec<Problem>),
}

impl PolicyError {
    /// Every problem as (path, message), for printing one per line.
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            PolicyError::Shape { path, message } => vec![Problem {
                path: path.clone(),
                message: message.clone(),
            }],
            PolicyError::Invalid(problems) => problems.clone(),
        }
    }
}
