//! The jobs `serve` runs beside the API, each on its own timer. What they have done lives in
//! the database, so several servers may run them side by side.

pub mod delivery;
pub mod hourly;
pub mod mailbox;
pub mod policy;
pub mod retention;
pub mod webhooks;

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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// What the README says of SIGTERM: a round under way when the jobs stop runs to its end,
    /// and no round starts after.
    #[tokio::test(start_paused = true)]
    async fn a_round_under_way_finishes_and_none_starts_after_the_stop() {
        let (started, finished) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (entered, mut inside) = tokio::sync::mpsc::channel::<()>(1);
        let (release, held) = tokio::sync::watch::channel(false);
        let mut jobs = Jobs::new();
        {
            let (started, finished) = (started.clone(), finished.clone());
            jobs.every(Duration::from_secs(10), move || {
                let (started, finished) = (started.clone(), finished.clone());
                let (entered, mut held) = (entered.clone(), held.clone());
                async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    let _ = entered.send(()).await;
                    let _ = held.wait_for(|go| *go).await;
                    finished.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
        inside.recv().await.expect("the first round starts at once");
        let stopping = tokio::spawn(jobs.stop());
        // The stop is asked while the round is held; letting it go, the round ends and the
        // stop completes — with a minute of (paused) time in which six rounds could have begun.
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(
            !stopping.is_finished(),
            "the stop waits for the round under way"
        );
        release.send(true).unwrap();
        stopping.await.unwrap();
        assert_eq!(started.load(Ordering::SeqCst), 1, "no round after the stop");
        assert_eq!(
            finished.load(Ordering::SeqCst),
            1,
            "the round under way ran to its end"
        );
    }
}
