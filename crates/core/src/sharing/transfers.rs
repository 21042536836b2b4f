//! Cross-border transfers (R9.1, R9.2): personal data goes abroad only to a country the policy
//! marks adequate, under a contract with the recipient and extra safeguards, and only after the
//! people affected were told. A transfer is planned with its start date; planning it tells every
//! person whose data of those categories is held, through the outbox, once each; a disclosure of
//! named people abroad is refused until a planned transfer for that recipient and country has
//! begun.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::Action;
use crate::disclosures::DisclosureRefusal;
use crate::gate::{Duty, Use};
use crate::letters::Letter;
use crate::values::{InvalidInput, looks_personal};
use crate::{Actor, CoreError, Result, Vintrova};

const BOOK: &str = "transfers";

/// A transfer as planned and recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transfer {
    #[serde(default)]
    pub id: Uuid,
    pub recipient: String,
    pub country: String,
    pub categories: Vec<String>,
    /// The first day data may go.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub starts_on: Date,
    /// The contract with the recipient (its number and date).
    pub contract: String,
    /// The extra safeguards (standard clauses, encryption, audits).
    pub safeguards: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub planned_at: Option<Timestamp>,
}

/// What planning a transfer did: the people told.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransferPlanned {
    pub transfer: Option<Transfer>,
    pub told: u64,
    pub no_address: u64,
}

impl Vintrova {
    /// Every planned transfer, oldest first.
    pub async fn transfers(&self) -> Result<Vec<Transfer>> {
        self.ledger(BOOK, None)
            .await?
            .iter()
            .map(|e| e.body::<Transfer>())
            .collect()
    }

    /// Plan a transfer abroad and tell the people whose data it concerns. Refused to a country
    /// without adequate protection, outside the recipient's register entry, or without a
    /// contract and safeguards; its start must leave the people time to hear of it.
    pub async fn plan_transfer(
        &self,
        actor: &Actor,
        transfer: Transfer,
    ) -> Result<TransferPlanned> {
        let policy = self.policy();
        let today = self.now().to_zoned_datetime(policy.zone()).date();
        let mut problems = InvalidInput::default();
        for (field, text) in [
            ("contract", &transfer.contract),
            ("safeguards", &transfer.safeguards),
        ] {
            if text.trim().is_empty() || looks_personal(text) {
                problems.push(
                    field,
                    "empty, or carries an address or a personal number",
                    "the document's number and what it provides",
                );
            }
        }
        // A new destination is a material change of the policy's §9: the people hear of it 30
        // days before their data may go.
        let earliest = today
            .checked_add(jiff::Span::new().days(crate::versions::NOTICE_DAYS))
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        if transfer.starts_on < earliest {
            problems.push(
                "starts_on",
                format!(
                    "leaves fewer than {} days to tell the people affected",
                    crate::versions::NOTICE_DAYS
                ),
                format!("{earliest} or later"),
            );
        }
        if transfer.country == policy.operator.country {
            problems.push(
                "country",
                "is the operator's own country",
                "a country abroad",
            );
        }
        problems.into_result()?;
        let request = crate::disclosures::DisclosureRequest {
            recipient: transfer.recipient.clone(),
            country: transfer.country.clone(),
            categories: transfer.categories.clone(),
            purpose: policy
                .recipients
                .iter()
                .find(|r| r.key == transfer.recipient)
                .and_then(|r| r.purposes.first().cloned())
                .unwrap_or_default(),
            legal_ground: transfer.contract.clone(),
            ..Default::default()
        };
        // The register's rules, less the agreement (the contract is part of this plan).
        match crate::disclosures::check(policy, &request, true) {
            Ok(()) | Err(DisclosureRefusal::NoLegalReference) => {}
            Err(refusal) => return Err(CoreError::Disclosure(refusal)),
        }
        let transfer = Transfer {
            id: Uuid::now_v7(),
            planned_at: Some(self.now()),
            contract: transfer.contract.trim().to_string(),
            safeguards: transfer.safeguards.trim().to_string(),
            ..transfer
        };
        self.append_ledger(
            actor,
            (BOOK, transfer.id),
            &transfer,
            Action::PlanTransfer,
            transfer.categories.clone(),
        )
        .await?;
        let mut planned = TransferPlanned {
            transfer: Some(transfer.clone()),
            ..Default::default()
        };
        let mut after = None;
        loop {
            let page = self.store().inventory(after, 500).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.subject);
            for inventory in page {
                let concerned = inventory.values.iter().any(|v| {
                    v.field
                        .split('.')
                        .next()
                        .is_some_and(|c| transfer.categories.iter().any(|t| t == c))
                }) || inventory
                    .events
                    .iter()
                    .any(|e| transfer.categories.contains(&e.category));
                if !concerned {
                    continue;
                }
                match self
                    .tell_of_transfer(actor, inventory.subject, &transfer)
                    .await?
                {
                    Some(true) => planned.told += 1,
                    Some(false) => planned.no_address += 1,
                    None => {}
                }
            }
        }
        Ok(planned)
    }

    /// Tell one person of a transfer through the outbox, under the law's duty (their address
    /// only): `Some(true)` told, `Some(false)` no address on record, `None` gone meanwhile.
    async fn tell_of_transfer(
        &self,
        actor: &Actor,
        subject: Uuid,
        transfer: &Transfer,
    ) -> Result<Option<bool>> {
        let policy = self.policy();
        let duty = Use::Duty(Duty::TransferNotice);
        let grant = match self.authorize(subject, duty.clone()).await {
            Ok(grant) => grant,
            Err(CoreError::UnknownSubject(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(to) = self.address(&grant).await? else {
            return Ok(Some(false));
        };
        let locale = self.language_of(subject).await?;
        let country = policy
            .countries
            .iter()
            .find(|c| c.code == transfer.country)
            .map_or(transfer.country.clone(), |c| {
                c.name.get(&locale).to_string()
            });
        self.queue_notice(
            actor,
            (Action::Notify, &duty.label()),
            subject,
            &to,
            Letter::TransferAbroad {
                country: &country,
                starts: transfer.starts_on,
            },
        )
        .await?;
        Ok(Some(true))
    }

    /// Someone whose data arrives between a transfer's announcement and its start is told of it
    /// as it arrives, like everyone told when it was planned: for each planned transfer not yet
    /// begun that concerns a category of `categories`.
    pub(crate) async fn tell_of_transfers_ahead(
        &self,
        actor: &Actor,
        subject: Uuid,
        categories: &[String],
    ) -> Result<()> {
        let today = self.now().to_zoned_datetime(self.policy().zone()).date();
        for transfer in self.transfers().await? {
            if transfer.starts_on > today
                && transfer.categories.iter().any(|c| categories.contains(c))
            {
                self.tell_of_transfer(actor, subject, &transfer).await?;
            }
        }
        Ok(())
    }

    /// Whether named people's data of `categories` may go to `recipient` in `country` today: at
    /// home always; abroad once planned transfers there that cover every one of the categories
    /// have begun.
    pub(crate) async fn transfer_in_force(
        &self,
        recipient: &str,
        country: &str,
        categories: &[String],
    ) -> Result<bool> {
        if country == self.policy().operator.country {
            return Ok(true);
        }
        let today = self.now().to_zoned_datetime(self.policy().zone()).date();
        let begun: Vec<Transfer> = self
            .transfers()
            .await?
            .into_iter()
            .filter(|t| t.recipient == recipient && t.country == country && t.starts_on <= today)
            .collect();
        Ok(!begun.is_empty()
            && categories
                .iter()
                .all(|c| begun.iter().any(|t| t.categories.contains(c))))
    }
}
