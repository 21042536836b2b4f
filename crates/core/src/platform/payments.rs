//! Orders and payments (R3.1 payments, R8.1 financial data 5 years).
//!
//! A payment's life is a series of sealed payment events — initiated, succeeded or failed,
//! refunded — never rewritten, each one the financial record tax law asks to keep. An order
//! row holds only what the workflow needs in clear: its state and a keyed digest of the
//! provider's reference, to find it when the provider calls back. Providers sit behind
//! [`PaymentProvider`]; confirmations arrive asynchronously as signed webhooks.

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
use crate::{Actor, CoreError, Result, Vintrova};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Waiting for the provider to confirm.
    Pending,
    Paid,
    Failed,
    /// A refund was asked of the provider and awaits its confirmation.
    RefundPending,
    Refunded,
}

words!(OrderState {
    Pending => "pending",
    Paid => "paid",
    Failed => "failed",
    RefundPending => "refund_pending",
    Refunded => "refunded",
});

/// An order as stored: no PD in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    pub id: Uuid,
    pub subject: Uuid,
    pub state: OrderState,
    #[serde(skip)]
    pub reference_digest: Vec<u8>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

impl RecordView for Order {
    const KIND: RecordKind = RecordKind::Order;

    fn from_record(r: Record) -> Option<Self> {
        Some(Order {
            id: r.id,
            subject: r.subject,
            state: OrderState::parse(&r.state)?,
            reference_digest: r.digest?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }

    fn into_record(self) -> Record {
        Record {
            id: self.id,
            subject: self.subject,
            kind: Self::KIND,
            state: self.state.as_str().to_string(),
            digest: Some(self.reference_digest),
            anchored_at: None,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// What a provider answers when asked to take a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderPayment {
    pub reference: String,
    /// Where the person completes the payment.
    pub checkout_url: String,
}

/// What a provider's signed callback says happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Succeeded { card_last4: Option<String> },
    Failed,
    Refunded,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callback {
    pub reference: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("the payment provider refused: {0}")]
    Refused(String),
    #[error("the callback's signature does not verify; it was not sent by the payment provider")]
    BadSignature,
    #[error("the callback is not in the provider's format: {0}")]
    Malformed(String),
}

/// A payment system (R5.1 `payment_systems`).
#[async_trait::async_trait]
pub trait PaymentProvider: Send + Sync {
    fn name(&self) -> &'static str;
    async fn create_payment(
        &self,
        order: Uuid,
        amount: i64,
        currency: &str,
    ) -> Result<ProviderPayment, ProviderError>;
    async fn refund(&self, reference: &str) -> Result<(), ProviderError>;
    /// Check a callback's signature and read it.
    fn verify_callback(&self, body: &[u8], signature: &str) -> Result<Callback, ProviderError>;
}

/// The built-in provider for development and tests. It behaves like a real one: payments are
/// confirmed later by a callback signed with HMAC-SHA256 over the body, and may fail.
pub struct DevProvider {
    secret: vintrova_vault::SecretKey,
}

impl DevProvider {
    pub fn new(secret: [u8; 32]) -> Self {
        DevProvider {
            secret: vintrova_vault::SecretKey::from_bytes(secret),
        }
    }

    /// The callback the provider would send for `reference`: its body and signature header.
    pub fn callback(&self, reference: &str, outcome: Outcome) -> (Vec<u8>, String) {
        let body = serde_json::to_vec(&Callback {
            reference: reference.to_string(),
            outcome,
        })
        .expect("a callback serializes");
        let signature = self.sign(&body);
        (body, signature)
    }

    fn sign(&self, body: &[u8]) -> String {
        hex::encode(self.secret.mac("dev-provider-callback", body))
    }
}

#[async_trait::async_trait]
impl PaymentProvider for DevProvider {
    fn name(&self) -> &'static str {
        "dev"
    }

    async fn create_payment(
        &self,
        order: Uuid,
        amount: i64,
        currency: &str,
    ) -> Result<ProviderPayment, ProviderError> {
        if amount <= 0 {
            return Err(ProviderError::Refused(format!(
                "amount {amount} {currency} is not payable"
            )));
        }
        // Letters only, like many real references: a run of digits could look like a card number.
        let letters: String = Uuid::now_v7()
            .simple()
            .to_string()
            .bytes()
            .map(|b| {
                char::from(
                    b'a' + (if b.is_ascii_digit() {
                        b - b'0'
                    } else {
                        b - b'a' + 10
                    }),
                )
            })
            .collect();
        let reference = format!("dev_{letters}");
        Ok(ProviderPayment {
            checkout_url: format!("https://pay.dev.invalid/checkout/{reference}?order={order}"),
            reference,
        })
    }

    async fn refund(&self, _reference: &str) -> Result<(), ProviderError> {
        Ok(())
    }

    fn verify_callback(&self, body: &[u8], signature: &str) -> Result<Callback, ProviderError> {
        let expected = self.sign(body);
        // Compare digests of both so timing says nothing about how much of it matched.
        let same = sha2_eq(expected.as_bytes(), signature.trim().as_bytes());
        if !same {
            return Err(ProviderError::BadSignature);
        }
        serde_json::from_slice(body).map_err(|e| {
            ProviderError::Malformed(format!("line {}, column {}", e.line(), e.column()))
        })
    }
}

fn sha2_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    Sha256::digest(a) == Sha256::digest(b)
}

/// A new order and where to pay it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderCreated {
    pub order: Order,
    pub checkout_url: String,
}

impl Vintrova {
    fn payment_digest(&self, reference: &str) -> Vec<u8> {
        self.vault()
            .blind_index()
            .digest("payment.provider_reference", reference)
            .to_vec()
    }

    /// Open an order of `amount` (minor units) in `currency`, under the payments purpose, and
    /// ask the provider to take it. The initiation is the first financial record.
    pub async fn create_order(
        &self,
        actor: &Actor,
        provider: &dyn PaymentProvider,
        subject: Uuid,
        amount: i64,
        currency: &str,
        method: &str,
    ) -> Result<OrderCreated> {
        let checked = self.parse_json(
            &json!({"payment": {"amount": amount, "currency": currency, "method": method}}),
        )?;
        self.authorize(subject, Use::Purpose(names::PAYMENTS.into()))
            .await?;
        let id = Uuid::now_v7();
        let currency = checked
            .iter()
            .find(|v| v.field == "payment.currency")
            .and_then(|v| v.value.as_str().map(str::to_string))
            .unwrap_or_default();
        let payment = provider
            .create_payment(id, amount, &currency)
            .await
            .map_err(|e| {
                InvalidInput::one("payment", e.to_string(), "a payment the provider accepts")
            })?;
        let now = self.now();
        let order = Order {
            id,
            subject,
            state: OrderState::Pending,
            reference_digest: self.payment_digest(&payment.reference),
            created_at: now,
            updated_at: now,
        };
        let record = self.parse_json(&json!({"payment": {
            "amount": amount, "currency": currency, "method": method,
            "provider_reference": payment.reference, "status": "pending",
        }}))?;
        let sealed = self
            .seal(subject, &record, names::PAID_ORDER, Some(id))
            .await?
            .events;
        let audit = self.draft(
            actor,
            Action::Create,
            Some(subject),
            vec![names::PAYMENT.into()],
            Some(names::PAYMENTS.into()),
        );
        let order = self.insert_record(order, &sealed, &audit).await?;
        Ok(OrderCreated {
            order,
            checkout_url: payment.checkout_url,
        })
    }

    /// A provider's callback: verify its signature, find the order by reference, and append the
    /// outcome as a financial record. A repeated callback changes nothing.
    pub async fn payment_callback(
        &self,
        provider: &dyn PaymentProvider,
        body: &[u8],
        signature: &str,
    ) -> Result<Order> {
        let callback = provider
            .verify_callback(body, signature)
            .map_err(|e| CoreError::Provider(e.to_string()))?;
        let order = self
            .records_by_digest::<Order>(&self.payment_digest(&callback.reference))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| CoreError::Provider("the callback names no order of ours".into()))?;
        let (state, status, card) = match &callback.outcome {
            Outcome::Succeeded { card_last4 } => {
                (OrderState::Paid, "succeeded", card_last4.clone())
            }
            Outcome::Failed => (OrderState::Failed, "failed", None),
            Outcome::Refunded => (OrderState::Refunded, "refunded", None),
        };
        let allowed = matches!(
            (order.state, state),
            (OrderState::Pending, OrderState::Paid | OrderState::Failed)
                | (
                    OrderState::Paid | OrderState::RefundPending,
                    OrderState::Refunded
                )
        );
        if order.state == state || !allowed {
            // Providers repeat callbacks; a late or repeated one must not rewrite history.
            return Ok(order);
        }
        let mut fields = json!({"payment": {"provider_reference": callback.reference, "status": status, "paid_at": self.now().to_string()}});
        if let Some(card) = card {
            fields["payment"]["card_last4"] = json!(card);
        }
        let record = self.parse_json(&fields)?;
        let sealed = self
            .seal(order.subject, &record, names::PAID_ORDER, Some(order.id))
            .await?
            .events;
        let actor = Actor::new("provider", provider.name());
        let audit = self.draft(
            &actor,
            Action::Update,
            Some(order.subject),
            vec![names::PAYMENT.into()],
            Some(names::PAYMENTS.into()),
        );
        self.advance_record(Order { state, ..order }, &sealed, &audit)
            .await
    }

    /// Ask the provider to refund a paid order; its callback completes the refund.
    pub async fn refund_order(
        &self,
        actor: &Actor,
        provider: &dyn PaymentProvider,
        order: Uuid,
    ) -> Result<Order> {
        let found = self.record::<Order>(order).await?.ok_or_else(|| {
            InvalidInput::one(
                "order",
                "is not an order of ours",
                "the id `create_order` returned",
            )
        })?;
        if found.state != OrderState::Paid {
            return Err(InvalidInput::one(
                "order",
                format!("is {}", found.state.as_str()),
                "a paid order",
            )
            .into());
        }
        let grant = self
            .authorize(found.subject, Use::Purpose(names::PAYMENTS.into()))
            .await?;
        let reference = self
            .open(&grant)
            .await?
            .into_iter()
            .find(|o| o.record == Some(order) && o.field == "payment.provider_reference")
            .and_then(|o| o.value.as_str().map(str::to_string))
            .ok_or_else(|| {
                CoreError::Provider("the order's payment reference is no longer held".into())
            })?;
        provider
            .refund(&reference)
            .await
            .map_err(|e| CoreError::Provider(e.to_string()))?;
        let audit = self.draft(
            actor,
            Action::Update,
            Some(found.subject),
            vec![names::PAYMENT.into()],
            Some(names::PAYMENTS.into()),
        );
        self.advance_record(
            Order {
                state: OrderState::RefundPending,
                ..found
            },
            &[],
            &audit,
        )
        .await
    }
}
