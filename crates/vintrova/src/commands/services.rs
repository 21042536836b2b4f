//! What the practice provides a person, from the command line: the account, the catalog,
//! enrollments, support tickets, orders, and the events of their use.

use std::path::Path;

use vintrova_core::Actor;
use vintrova_core::learning::Offering;
use vintrova_core::support::Author;

use crate::cli::{AccountCommand, CatalogCommand, EnrollmentCommand, OrderCommand, TicketCommand};
use crate::console::{json_input, print_json, read_input, stdin_text, subject_id};
use crate::setup::{self, Config, Result};

pub async fn account(config: &Config, actor: &Actor, command: AccountCommand) -> Result<()> {
    let AccountCommand::Close { id } = command;
    let rt = setup::open(config).await?;
    rt.app.close_account(actor, subject_id(&id)?).await?;
    say!("account closed: its sessions ended, and the contract with them");
    Ok(())
}

pub async fn catalog(config: &Config, command: CatalogCommand) -> Result<()> {
    let rt = setup::open(config).await?;
    match command {
        CatalogCommand::List => print_json(&rt.app.catalog().await?)?,
        CatalogCommand::Add { json } => {
            let offering: Offering = json_input(
                &read_input(&json)?,
                "offering",
                r#"{"id", "kind", "level", "title_ru", "title_kk", "title_en"}"#,
            )?;
            rt.app.add_offering(&offering).await?;
        }
    }
    Ok(())
}

pub async fn enrollment(config: &Config, actor: &Actor, command: EnrollmentCommand) -> Result<()> {
    let rt = setup::open(config).await?;
    let app = &rt.app;
    let done = match command {
        EnrollmentCommand::Add { id, offering } => {
            app.enroll(actor, subject_id(&id)?, &offering, "course_enrollment")
                .await?
        }
        EnrollmentCommand::Progress {
            enrollment,
            percent,
        } => {
            app.record_progress(actor, subject_id(&enrollment)?, percent)
                .await?
        }
        EnrollmentCommand::Cancel { enrollment } => {
            app.cancel_enrollment(actor, subject_id(&enrollment)?)
                .await?
        }
    };
    print_json(&done)
}

pub async fn ticket(config: &Config, actor: &Actor, command: TicketCommand) -> Result<()> {
    let rt = setup::open(config).await?;
    let app = &rt.app;
    let ticket = match command {
        TicketCommand::Open { id, title } => {
            app.open_ticket(actor, subject_id(&id)?, &title, &stdin_text("message")?)
                .await?
        }
        TicketCommand::Reply { ticket, staff } => {
            let author = if staff { Author::Staff } else { Author::Person };
            app.reply(actor, subject_id(&ticket)?, author, &stdin_text("message")?)
                .await?
        }
        TicketCommand::Close { ticket } => app.close_ticket(actor, subject_id(&ticket)?).await?,
    };
    print_json(&ticket)
}

pub async fn order(config: &Config, actor: &Actor, command: OrderCommand) -> Result<()> {
    let rt = setup::open(config).await?;
    let provider = setup::dev_provider(&rt).await?;
    match command {
        OrderCommand::Create {
            id,
            amount,
            currency,
            method,
        } => print_json(
            &rt.app
                .create_order(
                    actor,
                    &provider,
                    subject_id(&id)?,
                    amount,
                    &currency,
                    &method,
                )
                .await?,
        ),
        OrderCommand::Refund { order } => print_json(
            &rt.app
                .refund_order(actor, &provider, subject_id(&order)?)
                .await?,
        ),
    }
}

/// Record technical or usage events for a purpose, from JSON `{"technical": {…}}`.
pub async fn event(
    config: &Config,
    actor: &Actor,
    id: &str,
    purpose: &str,
    json: &Path,
    source: &str,
) -> Result<()> {
    let rt = setup::open(config).await?;
    let values = rt.app.parse(&read_input(json)?)?;
    print_json(
        &rt.app
            .record_events(actor, subject_id(id)?, purpose, values, source)
            .await?,
    )
}
