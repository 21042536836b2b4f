//! The jobs `serve` runs beside the API, each on its own timer. What they have done lives in
//! the database, so several servers may run them side by side.

pub mod delivery;
pub mod hourly;
pub mod policy;
pub mod retention;

use uuid::Uuid;

/// This server's name on the leases its jobs take.
fn lease_holder() -> String {
    format!("server-{}", Uuid::now_v7())
}
