//! Technical support and consulting (R3.1 support): tickets with messages.
//!
//! A ticket row keeps in clear only its state and when it closed — closing starts the two-year
//! clock of the support rule (R8.1). Its subject line and every message, the person's and
//! staff's alike (told apart by their source), are sealed contact events of the ticket.

use crate::names;
use crate::words::words;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::audit::Action;
use crate::gate::Use;
use crate::records::{Record, RecordKind, RecordView};
use crate::values::InvalidInput;
use crate::{Actor, Result, Vintrova};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    /// Waiting for support.
    Open,
    /// Support answered; waiting for the person.
    Answered,
    Closed,
}

words!(TicketState {
    Open => "open",
    Answered => "answered",
    Closed => "closed",
});

/// A ticket as stored: no PD in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ticket {
    pub id: Uuid,
    pub subject: Uuid,
    pub state: TicketState,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub closed_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

impl RecordView for Ticket {
    const KIND: RecordKind = RecordKind::Ticket;

    fn from_record(r: Record) -> Option<Self> {
        Some(Ticket {
            id: r.id,
            subject: r.subject,
            state: TicketState::parse(&r.state)?,
            closed_at: r.anchored_at,
            created_at: r.created_at,
        })
    }

    fn into_record(self) -> Record {
        Record {
            id: self.id,
            subject: self.subject,
            kind: Self::KIND,
            state: self.state.as_str().to_string(),
            digest: None,
            anchored_at: self.closed_at,
            created_at: self.created_at,
            updated_at: self.created_at,
        }
    }
}

/// Who wrote a message; recorded as the message's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Person,
    Staff,
}

impl Author {
    fn source(self) -> &'static str {
        match self {
            Author::Person => names::SUPPORT_REQUEST,
            Author::Staff => names::STAFF_ENTRY,
        }
    }
}

impl Vintrova {
    /// Open a ticket with its first message, under the support purpose (contract).
    pub async fn open_ticket(
        &self,
        actor: &Actor,
        subject: Uuid,
        title: &str,
        message: &str,
    ) -> Result<Ticket> {
        self.authorize(subject, Use::Purpose(names::SUPPORT.into()))
            .await?;
        let id = Uuid::now_v7();
        let record = self.parse_json(
            &json!({"contact": {"support_subject": title, "support_message": message}}),
        )?;
        let sealed = self
            .seal(subject, &record, Author::Person.source(), Some(id))
            .await?
            .events;
        let ticket = Ticket {
            id,
            subject,
            state: TicketState::Open,
            closed_at: None,
            created_at: self.now(),
        };
        let audit = self.draft(
            actor,
            Action::Create,
            Some(subject),
            vec![names::CONTACT.into()],
            Some(names::SUPPORT.into()),
        );
        self.insert_record(ticket, &sealed, &audit).await
    }

    /// Add a message: the person's reopens an answered ticket, staff's answers it.
    pub async fn reply(
        &self,
        actor: &Actor,
        ticket: Uuid,
        author: Author,
        message: &str,
    ) -> Result<Ticket> {
        let found = self.require_open_ticket(ticket).await?;
        self.authorize(found.subject, Use::Purpose(names::SUPPORT.into()))
            .await?;
        let record = self.parse_json(&json!({"contact": {"support_message": message}}))?;
        let sealed = self
            .seal(found.subject, &record, author.source(), Some(ticket))
            .await?
            .events;
        let state = match author {
            Author::Person => TicketState::Open,
            Author::Staff => TicketState::Answered,
        };
        self.advance_ticket(actor, found, state, &sealed).await
    }

    /// Close a ticket; the two-year clock of its messages starts now.
    pub async fn close_ticket(&self, actor: &Actor, ticket: Uuid) -> Result<Ticket> {
        let found = self.require_open_ticket(ticket).await?;
        self.advance_ticket(actor, found, TicketState::Closed, &[])
            .await
    }

    async fn require_open_ticket(&self, id: Uuid) -> Result<Ticket> {
        let found = self.record::<Ticket>(id).await?.ok_or_else(|| {
            InvalidInput::one(
                "ticket",
                "not a ticket of ours",
                "the id `open_ticket` returned",
            )
        })?;
        if found.state == TicketState::Closed {
            return Err(
                InvalidInput::one("ticket", "is closed", "an open ticket; open a new one").into(),
            );
        }
        Ok(found)
    }

    async fn advance_ticket(
        &self,
        actor: &Actor,
        found: Ticket,
        state: TicketState,
        sealed: &[crate::store::SealedEvent],
    ) -> Result<Ticket> {
        let closed_at = (state == TicketState::Closed).then(|| self.now());
        let audit = self.draft(
            actor,
            Action::Update,
            Some(found.subject),
            vec![names::CONTACT.into()],
            Some(names::SUPPORT.into()),
        );
        let next = Ticket {
            state,
            closed_at,
            ..found
        };
        self.advance_record(next, sealed, &audit).await
    }
}
