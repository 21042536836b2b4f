//! Every thirty seconds, the data protection service's mailbox (when one is configured): each
//! letter not yet taken goes into the inbox for staff to classify.

use std::sync::Arc;
use std::time::Duration;

use vintrova_web::live::Live;

use crate::mailbox::Mailbox;

pub fn spawn(jobs: &mut super::Jobs, live: &Arc<Live>, mailbox: Mailbox) {
    let (live, mailbox) = (live.clone(), Arc::new(mailbox));
    jobs.every(Duration::from_secs(30), move || {
        let (app, mailbox) = (live.app(), mailbox.clone());
        async move {
            match mailbox.read(&app).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(letters = n, "letters from the mailbox wait in the inbox"),
                Err(e) => tracing::error!(error = %e, "cannot read the mailbox"),
            }
        }
    });
}
