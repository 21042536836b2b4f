//! `inbox`: letters from the data protection service's mailbox — read it now, list what waits,
//! open one, say which right it asks for or set it aside.

use uuid::Uuid;
use vintrova_core::Actor;

use crate::cli::InboxCommand;
use crate::commands::request::right_kind;
use crate::console::print_json;
use crate::setup::{self, Config, Result};

pub async fn run(config: &Config, actor: &Actor, command: InboxCommand) -> Result<()> {
    let rt = setup::open(config).await?;
    let app = &rt.app;
    match command {
        InboxCommand::Read => {
            let mailbox = setup::mailbox(config)?
                .ok_or("no mailbox is configured: set imap.url (VINTROVA_IMAP_URL)")?;
            let new = mailbox.read(app).await?;
            print_json(&serde_json::json!({ "new_letters": new }))
        }
        InboxCommand::List => print_json(&app.inbox().await?),
        InboxCommand::Show { id } => {
            print_json(&app.open_inbox_letter(actor, letter_id(&id)?).await?)
        }
        InboxCommand::Classify { id, right } => print_json(
            &app.classify_letter(actor, letter_id(&id)?, right_kind(&right)?)
                .await?,
        ),
        InboxCommand::Dismiss { id } => {
            app.dismiss_letter(actor, letter_id(&id)?).await?;
            say!("Letter {id} set aside: it asks for nothing Vintrova answers.");
            Ok(())
        }
    }
}

fn letter_id(raw: &str) -> Result<Uuid> {
    raw.parse().map_err(|_| {
        format!("`{raw}` is not a letter id; expected a UUID as `inbox list` shows").into()
    })
}
