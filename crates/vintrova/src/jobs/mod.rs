//! The jobs `serve` runs beside the API, each on its own timer. What they have done lives in
//! the database, so several servers may run them side by side.

pub mod delivery;
pub mod hourly;
pub mod policy;
pub mod retention;

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// This server's name on the leases its jobs take.
fn lease_holder() -> String {
    format!("server-{}", Uuid::now_v7())
}

/// The jobs of one server, each a round on its own timer. Stopping them (SIGTERM) lets a round
/// already running finish — a sweep, a delivery, an erasure carried to its end — and starts no
/// new one, so a service manager's stop leaves nothing half-done.
pub struct Jobs {
    stop: watch::Sender<bool>,
    running: Vec<JoinHandle<()>>,
}

impl Jobs {
    pub fn new() -> Jobs {
        Jobs {
            stop: watch::channel(false).0,
            running: vec![],
        }
    }

    /// Run `round` now and then every `period`, until the jobs stop.
    pub fn every<F, R>(&mut self, period: Duration, mut round: F)
    where
        F: FnMut() -> R + Send + 'static,
        R: Future<Output = ()> + Send,
    {
        let mut stop = self.stop.subscribe();
        self.running.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tokio::select! {
                    // A stop seen between rounds ends the job; one mid-round waits for it.
                    biased;
                    _ = stop.changed() => return,
                    _ = tick.tick() => round().await,
                }
            }
        }));
    }

    /// Start no new round and wait for the rounds running to end.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for job in self.running {
            if let Err(e) = job.await {
                tracing::error!(error = %e, "a job ended abnormally while stopping");
            }
        }
    }
}
