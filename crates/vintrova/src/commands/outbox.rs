//! The outbox of messages waiting to be delivered, and the notices that fill it.

use std::collections::BTreeMap;

use vintrova_core::Actor;
use vintrova_core::notifications::NoticeKind;

use crate::cli::OutboxCommand;
use crate::console::print_json;
use crate::setup::{self, Config, Result};

pub async fn run(config: &Config, command: OutboxCommand) -> Result<()> {
    let rt = setup::open(config).await?;
    match command {
        OutboxCommand::Deliver => print_json(
            &rt.app
                .deliver(setup::mail_transport(&rt)?.as_ref(), 500)
                .await?,
        ),
        OutboxCommand::Status => {
            let counts: BTreeMap<String, i64> = rt.app.outbox_counts().await?.into_iter().collect();
            print_json(&counts)
        }
    }
}

/// Queue a notice for everyone who consented to notifications and did not object.
pub async fn notify(config: &Config, actor: &Actor, kind: &str) -> Result<()> {
    let kind = NoticeKind::parse(kind).ok_or_else(|| {
        format!("`{kind}` is not a notice kind; use course_update or new_feature")
    })?;
    let rt = setup::open(config).await?;
    print_json(&rt.app.notify_all(actor, kind).await?)
}
