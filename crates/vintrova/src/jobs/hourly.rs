//! The hourly round (the first at start): erasures a crash cut short carried to their end, the
//! audit chain's check, the day's copy of its signed head for the
//! witnesses, the monthly access digests, and overdue assessments.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use vintrova_core::{Actor, Vintrova};
use vintrova_web::live::Live;

/// Where the signed audit head goes each day, apart from this server.
#[derive(Debug, Clone, Default)]
pub struct Witnesses {
    pub dir: Option<PathBuf>,
    pub mail: bool,
}

pub fn spawn(jobs: &mut super::Jobs, live: &Arc<Live>, witnesses: Witnesses) {
    let live = live.clone();
    let holder = super::lease_holder();
    jobs.every(std::time::Duration::from_secs(3600), move || {
        let (app, witnesses, holder) = (live.app(), witnesses.clone(), holder.clone());
        async move {
            finish_erasures(&app).await;
            verify_audit_chain(&app).await;
            keep_witnesses(&app, &witnesses).await;
            send_digests(&app, &holder).await;
            warn_of_overdue_assessments(&app).await;
            super::webhooks::prune(&app).await;
        }
    });
}

/// An erasure decided and cut short by a crash is carried to its end by whoever runs next.
async fn finish_erasures(app: &Vintrova) {
    match app.finish_erasures().await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            erasures = n,
            "carried erasures a crash had cut short to their end"
        ),
        Err(e) => tracing::error!(error = %e, "cannot finish an erasure a crash cut short"),
    }
}

/// For the `vintrova_audit_chain_ok` gauge; a break is logged as an error for the operator's
/// alerting.
async fn verify_audit_chain(app: &Vintrova) {
    let verified = app.verify_audit().await;
    if let Err(e) = &verified {
        tracing::error!(error = %e, "the audit chain does not verify");
    }
    vintrova_web::metrics::audit_verified(
        verified.is_ok(),
        verified.map(|r| r.entries).unwrap_or(0),
        app.now(),
    );
}

/// Hand the day's signed head to the witnesses, once a day each.
async fn keep_witnesses(app: &Vintrova, witnesses: &Witnesses) {
    if let Some(dir) = &witnesses.dir {
        let today = app.now().to_zoned_datetime(app.policy().zone()).date();
        let kept = app
            .signed_head()
            .map_err(|e| e.to_string())
            .and_then(|head| keep_in(dir, &today.to_string(), &head).map_err(|e| e.to_string()));
        if let Err(e) = kept {
            tracing::error!(error = %e, dir = %dir.display(), "cannot keep the audit head with the witness directory");
        }
    }
    if witnesses.mail
        && let Err(e) = app.mail_head_to_witness().await
    {
        tracing::error!(error = %e, "cannot mail the audit head to the data protection service");
    }
}

/// Write `head` as `dir/audit-head-<day>`, unless that day's is there already.
fn keep_in(dir: &Path, day: &str, head: &str) -> std::io::Result<bool> {
    let file = dir.join(format!("audit-head-{day}"));
    if file.exists() {
        return Ok(false);
    }
    std::fs::create_dir_all(dir)?;
    let partial = file.with_extension("partial");
    std::fs::write(&partial, head)?;
    std::fs::rename(&partial, &file)?;
    Ok(true)
}

/// The monthly digest of who looked, for whoever asked (once a month each; one server at a
/// time).
async fn send_digests(app: &Vintrova, holder: &str) {
    let actor = Actor::new("system", "digest");
    let digests = app.send_access_digests(&actor);
    match app
        .exclusively(Vintrova::DIGEST_LEASE, holder, 60, digests)
        .await
    {
        Ok(Some(n)) if n > 0 => tracing::info!(queued = n, "monthly access digests"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "the monthly access digests failed"),
    }
}

/// A published policy version whose day has come applies from the next start.
/// R7.8: a security audit or risk assessment more than a year old (or never done) is said in
/// the log every hour until one is recorded.
async fn warn_of_overdue_assessments(app: &Vintrova) {
    match app.assessment_schedule().await {
        Ok(schedule) => {
            for due in schedule.iter().filter(|d| d.overdue) {
                tracing::warn!(
                    kind = due.kind.as_str(),
                    last = ?due.last_on,
                    "a yearly {} is overdue: record it with `vintrova assessment record`",
                    due.kind.as_str()
                );
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot read the assessments' schedule"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_witness_directory_gets_one_copy_a_day_and_keeps_the_earlier_ones() {
        let dir = tempfile::tempdir().unwrap();
        let witnesses = dir.path().join("on-another-mount");
        assert!(keep_in(&witnesses, "2026-11-30", "head one\n").unwrap());
        assert!(
            !keep_in(&witnesses, "2026-11-30", "head two\n").unwrap(),
            "once a day"
        );
        assert!(keep_in(&witnesses, "2026-12-01", "head three\n").unwrap());
        let read = |day: &str| std::fs::read_to_string(witnesses.join(format!("audit-head-{day}")));
        assert_eq!(read("2026-11-30").unwrap(), "head one\n");
        assert_eq!(read("2026-12-01").unwrap(), "head three\n");
    }
}
