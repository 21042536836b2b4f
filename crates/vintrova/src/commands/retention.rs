//! Retention (R8) and its exceptions: the sweep that deletes what fell due, and the legal
//! holds that keep data past its date.

use vintrova_core::Actor;
use vintrova_core::holds::HoldScope;
use vintrova_core::sweep::{SweepOptions, SweepReceipt};

use crate::backup;
use crate::cli::{HoldCommand, RetentionCommand};
use crate::console::{print_json, subject_id};
use crate::setup::{self, Config, Result};

pub async fn run(config: &Config, command: RetentionCommand) -> Result<()> {
    let RetentionCommand::Run {
        dry_run,
        as_of,
        json,
    } = command;
    let rt = setup::open(config).await?;
    let now = rt.app.now();
    let zone = rt.app.policy().zone();
    // Today means now: the end of today is still ahead and would be refused as the future.
    let as_of = as_of
        .map(|day| end_of_day(rt.app.policy(), &day, "--as-of"))
        .transpose()?
        .map(|end| {
            if end.to_zoned_datetime(zone.clone()).date()
                == now.to_zoned_datetime(zone.clone()).date()
            {
                now
            } else {
                end
            }
        });
    let receipt = rt
        .app
        .sweep(
            &Actor::new("cli", "retention"),
            SweepOptions { as_of, dry_run },
        )
        .await?;
    if !dry_run {
        backup::expire_keys(&config.data_dir, rt.app.now())?;
    }
    if json {
        print_json(&receipt)?;
    } else {
        print_receipt(&receipt);
    }
    Ok(())
}

pub async fn hold(config: &Config, actor: &Actor, command: HoldCommand) -> Result<()> {
    let rt = setup::open(config).await?;
    match command {
        HoldCommand::Place {
            reference,
            subject,
            categories,
            until,
        } => {
            let scope = HoldScope {
                subject: subject.as_deref().map(subject_id).transpose()?,
                categories,
            };
            let until = until
                .map(|day| end_of_day(rt.app.policy(), &day, "--until"))
                .transpose()?;
            print_json(&rt.app.place_hold(actor, scope, &reference, until).await?)
        }
        HoldCommand::Release { id } => {
            let id = id.parse().map_err(|_| {
                format!("`{id}` is not a hold id; expected a UUID as `hold list` prints")
            })?;
            print_json(&rt.app.release_hold(actor, id).await?)
        }
        HoldCommand::List => print_json(&rt.app.holds().await?),
    }
}

/// The last moment of a calendar day in the policy's time zone.
fn end_of_day(policy: &vintrova_policy::Policy, day: &str, flag: &str) -> Result<jiff::Timestamp> {
    let date: jiff::civil::Date = day
        .parse()
        .map_err(|_| format!("{flag} `{day}` is not a date; expected YYYY-MM-DD"))?;
    let next = date
        .tomorrow()
        .map_err(|_| format!("{flag} `{day}` is out of range"))?;
    let start = next
        .to_zoned_datetime(policy.zone())
        .map_err(|e| format!("{flag} `{day}`: {e}"))?;
    Ok(start.timestamp() - jiff::SignedDuration::from_nanos(1))
}

fn print_receipt(r: &SweepReceipt) {
    println!(
        "{} as of {}",
        if r.dry_run {
            "Retention dry run (nothing changed)"
        } else {
            "Retention sweep"
        },
        r.as_of
    );
    println!(
        "{:<14} {:<14} {:>10} {:>10}",
        "rule", "category", "values", "events"
    );
    for c in &r.deleted {
        println!(
            "{:<14} {:<14} {:>10} {:>10}",
            c.rule, c.category, c.values, c.events
        );
    }
    for c in &r.records_deleted {
        println!("{:<14} {:<14} {:>10} records", c.rule, c.kind, c.records);
    }
    for c in &r.held {
        println!(
            "held by a legal hold: {} {} ({} values, {} events)",
            c.rule, c.category, c.values, c.events
        );
    }
    println!(
        "key classes emptied {}, people removed {}, accounts warned {}, closed {}, audit entries pruned {}",
        r.key_classes_emptied,
        r.subjects_removed,
        r.accounts_warned,
        r.accounts_closed,
        r.audit_entries_pruned
    );
    println!(
        "leftovers: sessions {}, password resets {}, downloads {}, messages {}, notices {}",
        r.leftovers.sessions,
        r.leftovers.password_resets,
        r.leftovers.downloads,
        r.leftovers.outbox,
        r.leftovers.notices
    );
}
