//! Where the platform is told, and the telling: endpoints subscribed to event kinds, each event
//! delivered to each endpoint that wants it, signed (Standard Webhooks), retried with backoff,
//! kept for inspection.
//!
//! Order: a person's events reach an endpoint in the order of their changes — delivery claims
//! only the oldest undelivered one per endpoint and person, so a withdrawal is never overtaken
//! by the consent it withdraws. Delivery is at least once: a server that dies after the
//! receiver answered delivers again under the same `webhook-id`, which the receiver drops.
//! An endpoint that has failed every attempt for a day is disabled and the data protection
//! service told; what it missed waits, and is delivered in order once it is enabled again.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use vintrova_vault::Place;

use crate::audit::Action;
use crate::events::{EventKind, EventRecord};
use crate::store::{AttemptRecord, DeliveryRow, DueEvent, EndpointRow};
use crate::values::InvalidInput;
use crate::webhooks::{Secret, signature_header};
use crate::{Actor, CoreError, Result, Vintrova};

/// How an event leaves: an HTTP POST (with its timeout), or a test's receiver.
#[async_trait::async_trait]
pub trait Poster: Send + Sync {
    /// POST `body` to `url` with `headers`; the status the receiver answered, or why none came
    /// back (refused, timed out), in words without a person's value.
    async fn post(&self, url: &str, headers: &[(&str, String)], body: &[u8])
    -> Result<u16, String>;
}

/// An endpoint as staff see it: never its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Endpoint {
    pub id: Uuid,
    pub url: String,
    /// The event kinds it is sent; empty for every kind.
    pub kinds: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub failing_since: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub disabled_at: Option<Timestamp>,
    /// Deliveries waiting (due, retrying, or held while it is disabled).
    pub waiting: i64,
    pub delivered: i64,
}

/// What one delivery round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WebhookRound {
    pub delivered: u64,
    pub failed: u64,
    /// Endpoints disabled for failing a whole day.
    pub disabled: u64,
}

/// A signing secret, and when it stops being signed with: a replaced one is signed with for a
/// day after its successor was made, so the receiver has a day to switch.
#[derive(Clone, Serialize, Deserialize)]
struct HeldSecret {
    secret: String,
    retires_at: Option<Timestamp>,
}

impl HeldSecret {
    fn in_force(&self, now: Timestamp) -> bool {
        self.retires_at.is_none_or(|at| at > now)
    }
}

/// How long a claim lasts before another server may attempt the delivery.
const LEASE: SignedDuration = SignedDuration::from_mins(2);
/// Waits after each failed attempt; then every eight hours while the endpoint is enabled.
const BACKOFF_SECONDS: [i64; 8] = [5, 30, 120, 600, 1_800, 3_600, 7_200, 14_400];
const LAST_BACKOFF_SECONDS: i64 = 28_800;
/// An endpoint failing every attempt this long is disabled.
pub const GIVE_UP_AFTER: SignedDuration = SignedDuration::from_hours(24);
/// How long an old secret is still signed with after a new one is made.
const ROTATION_OVERLAP: SignedDuration = SignedDuration::from_hours(24);
/// Delivered events are kept this long for inspection, then deleted.
pub const KEEP_EVENTS: SignedDuration = SignedDuration::from_hours(30 * 24);

fn place(id: &str) -> Place<'_> {
    Place {
        subject: Uuid::nil(),
        table: "webhook_endpoints",
        column: "secrets",
        row: id,
    }
}

/// `kind,kind` or nothing (every kind), each a known event kind.
pub fn parse_kinds(list: &[String]) -> Result<Option<Vec<EventKind>>, InvalidInput> {
    let mut kinds = vec![];
    for word in list.iter().flat_map(|w| w.split(',')).map(str::trim) {
        if word.is_empty() || word == "*" {
            continue;
        }
        let kind = EventKind::parse(word).ok_or_else(|| {
            let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
            InvalidInput::one(
                "kinds",
                format!("`{word}` is not an event kind"),
                format!("some of {}", known.join(", ")),
            )
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds.sort();
    Ok((!kinds.is_empty()).then_some(kinds))
}

/// An `http://` or `https://` URL with a host and no credentials in it (those belong in the
/// secret, not in a column staff can read).
fn check_url(url: &str) -> Result<String, InvalidInput> {
    let url = url.trim();
    let problem = |what: &str| {
        InvalidInput::one(
            "url",
            what.to_string(),
            "an http:// or https:// address with a host, e.g. https://platform.example/hooks/vintrova",
        )
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| problem("is not an http:// or https:// address"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err(problem("has no host"));
    }
    if authority.contains('@') {
        return Err(problem(
            "carries credentials; the signature proves who sends",
        ));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(problem("contains spaces or control characters"));
    }
    Ok(url.to_string())
}

fn backoff(attempts: i64) -> SignedDuration {
    let seconds = usize::try_from(attempts - 1)
        .ok()
        .and_then(|i| BACKOFF_SECONDS.get(i).copied())
        .unwrap_or(LAST_BACKOFF_SECONDS);
    SignedDuration::from_secs(seconds)
}

impl Vintrova {
    /// Subscribe `url` to `kinds` (none: every kind). Returns the endpoint and its signing
    /// secret, shown this once.
    pub async fn add_webhook(
        &self,
        actor: &Actor,
        url: &str,
        kinds: &[String],
    ) -> Result<(Endpoint, Secret)> {
        let url = check_url(url)?;
        let kinds = parse_kinds(kinds)?;
        let secret = Secret::generate()?;
        let id = Uuid::now_v7();
        let held = vec![HeldSecret {
            secret: secret.reveal(),
            retires_at: None,
        }];
        let row = EndpointRow {
            id,
            url,
            kinds,
            secrets: self.seal_secrets(id, &held),
            created_at: self.now(),
            failing_since: None,
            disabled_at: None,
        };
        self.write_endpoint(actor, Action::AddWebhook, &row).await?;
        Ok((endpoint(row, 0, 0), secret))
    }

    pub async fn webhooks(&self) -> Result<Vec<Endpoint>> {
        Ok(self
            .store()
            .endpoints()
            .await?
            .into_iter()
            .map(|(row, waiting, delivered)| endpoint(row, waiting, delivered))
            .collect())
    }

    /// Stop telling an endpoint; what waited for it is dropped.
    pub async fn remove_webhook(&self, actor: &Actor, id: Uuid) -> Result<()> {
        let audit = self.draft(actor, Action::RemoveWebhook, None, vec![], None);
        self.audited(async |sealer| self.store().remove_endpoint(id, &audit, sealer).await)
            .await?
            .ok_or_else(|| unknown_endpoint(id))
    }

    /// A new signing secret for an endpoint, shown this once. The old one is signed with for
    /// a day more (both signatures travel), so the receiver can switch without losing a call.
    pub async fn rotate_webhook_secret(&self, actor: &Actor, id: Uuid) -> Result<Secret> {
        let mut row = self.require_endpoint(id).await?;
        let now = self.now();
        let secret = Secret::generate()?;
        let mut held: Vec<HeldSecret> = self
            .open_secrets(&row)?
            .into_iter()
            .filter(|h| h.in_force(now))
            .map(|h| HeldSecret {
                retires_at: Some(h.retires_at.unwrap_or(now + ROTATION_OVERLAP)),
                ..h
            })
            .collect();
        held.push(HeldSecret {
            secret: secret.reveal(),
            retires_at: None,
        });
        row.secrets = self.seal_secrets(id, &held);
        self.write_endpoint(actor, Action::ChangeWebhook, &row)
            .await?;
        Ok(secret)
    }

    /// Enable an endpoint again (after it was disabled for failing): what it missed is
    /// delivered, in order, from the next round.
    pub async fn enable_webhook(&self, actor: &Actor, id: Uuid) -> Result<Endpoint> {
        let mut row = self.require_endpoint(id).await?;
        row.disabled_at = None;
        row.failing_since = None;
        self.write_endpoint(actor, Action::ChangeWebhook, &row)
            .await?;
        Ok(endpoint(row, 0, 0))
    }

    /// The latest deliveries to an endpoint, newest first: what was sent, when, and how the
    /// receiver answered.
    pub async fn webhook_deliveries(&self, id: Uuid, limit: i64) -> Result<Vec<DeliveryRow>> {
        self.require_endpoint(id).await?;
        Ok(self.store().deliveries(id, limit).await?)
    }

    /// The events a person's changes left for the platform, oldest first.
    pub async fn events_of(&self, subject: Uuid) -> Result<Vec<EventRecord>> {
        Ok(self.store().events_of(subject).await?)
    }

    /// Deliver what is due: claim (under a lease, so several servers may run this), sign,
    /// post, record. A delivered event frees the person's next one, delivered in the same
    /// round; `limit` bounds the attempts of one round.
    pub async fn deliver_webhooks(&self, poster: &dyn Poster, limit: i64) -> Result<WebhookRound> {
        let mut round = WebhookRound::default();
        let mut attempted = 0;
        while attempted < limit {
            let now = self.now();
            let due = self
                .store()
                .claim_deliveries(now, now + LEASE, limit - attempted)
                .await?;
            if due.is_empty() {
                break;
            }
            attempted += due.len() as i64;
            let endpoints = self.store().endpoints().await?;
            let attempts = due.iter().map(|d| {
                let row = endpoints.iter().find(|(e, ..)| e.id == d.endpoint);
                self.attempt(poster, row.map(|(e, ..)| e), d)
            });
            for (d, outcome) in due
                .iter()
                .zip(futures_util::future::join_all(attempts).await)
            {
                self.record_attempt(d, outcome, &mut round).await?;
            }
        }
        Ok(round)
    }

    /// One signed POST of a due event.
    async fn attempt(
        &self,
        poster: &dyn Poster,
        row: Option<&EndpointRow>,
        due: &DueEvent,
    ) -> Result<u16, String> {
        let row = row.ok_or("the endpoint was removed")?;
        let secrets = self.signing_secrets(row).map_err(|e| e.to_string())?;
        let id = due.event.id.to_string();
        let timestamp = self.now().as_second();
        let body = due.event.body.as_bytes();
        let headers = [
            ("content-type", "application/json".to_string()),
            ("webhook-id", id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            (
                "webhook-signature",
                signature_header(&secrets, &id, timestamp, body),
            ),
        ];
        poster.post(&row.url, &headers, body).await
    }

    async fn record_attempt(
        &self,
        due: &DueEvent,
        outcome: Result<u16, String>,
        round: &mut WebhookRound,
    ) -> Result<()> {
        let now = self.now();
        let attempts = due.attempts + 1;
        let (delivered, status, error) = match outcome {
            Ok(status) if (200..300).contains(&status) => (true, Some(status), None),
            Ok(status) => (
                false,
                Some(status),
                Some(format!("the receiver answered {status}")),
            ),
            Err(why) => (false, None, Some(why)),
        };
        let failing_since = self
            .store()
            .finish_delivery(&AttemptRecord {
                endpoint: due.endpoint,
                seq: due.event.seq,
                delivered,
                attempts,
                status,
                error,
                at: now,
                next_attempt_at: now + backoff(attempts),
            })
            .await?;
        if delivered {
            round.delivered += 1;
            return Ok(());
        }
        round.failed += 1;
        if let Some(since) = failing_since
            && since + GIVE_UP_AFTER <= now
            && self.disable_failing(due.endpoint, since).await?
        {
            round.disabled += 1;
        }
        Ok(())
    }

    /// Disable an endpoint that has failed a day, and tell the data protection service.
    async fn disable_failing(&self, id: Uuid, since: Timestamp) -> Result<bool> {
        let Some(mut row) = self.store().endpoint(id).await? else {
            return Ok(false);
        };
        if row.disabled_at.is_some() {
            return Ok(false);
        }
        row.disabled_at = Some(self.now());
        let actor = Actor::new("system", "webhooks");
        self.write_endpoint(&actor, Action::DisableWebhook, &row)
            .await?;
        let body = format!(
            "The webhook endpoint {url} (id {id}) has failed every delivery since {since} and \
             was disabled. The events it missed are kept and wait for it.\n\n\
             Until it is enabled again the platform does not hear of consents withdrawn, \
             objections or erasures, and may go on using data it must not. Fix the receiver, \
             then run `vintrova webhook enable {id}`: what waited is delivered in order.\n\n\
             `vintrova webhook deliveries {id}` shows each attempt and how the receiver answered.",
            url = row.url,
        );
        self.tell_the_service(
            format!(
                "<webhook-disabled-{id}-{}@vintrova.outbox>",
                since.as_second()
            ),
            "webhook:disabled",
            "Vintrova: a webhook endpoint was disabled",
            &body,
        )
        .await?;
        Ok(true)
    }

    /// Delete events every endpoint has received and that are older than [`KEEP_EVENTS`].
    pub async fn prune_webhook_events(&self) -> Result<u64> {
        Ok(self.store().prune_events(self.now() - KEEP_EVENTS).await?)
    }

    async fn write_endpoint(&self, actor: &Actor, action: Action, row: &EndpointRow) -> Result<()> {
        let audit = self.draft(
            actor,
            action,
            None,
            vec![],
            Some(format!("webhook:{}", row.id)),
        );
        self.audited(async |sealer| self.store().put_endpoint(row, &audit, sealer).await)
            .await
    }

    async fn require_endpoint(&self, id: Uuid) -> Result<EndpointRow> {
        self.store()
            .endpoint(id)
            .await?
            .ok_or_else(|| unknown_endpoint(id))
    }

    fn seal_secrets(&self, id: Uuid, held: &[HeldSecret]) -> Vec<u8> {
        let plaintext = serde_json::to_vec(held).expect("secrets serialize");
        vintrova_vault::seal(self.vault().outbox(), &place(&id.to_string()), &plaintext)
    }

    fn open_secrets(&self, row: &EndpointRow) -> Result<Vec<HeldSecret>> {
        vintrova_vault::open(
            self.vault().outbox(),
            &place(&row.id.to_string()),
            &row.secrets,
        )
        .and_then(|plain| serde_json::from_slice(&plain).ok())
        .ok_or_else(|| {
            CoreError::Internal(format!(
                "the secrets of webhook endpoint {} do not open: they were altered or moved; \
                 `vintrova webhook rotate {}` makes a new one",
                row.id, row.id
            ))
        })
    }

    /// The secrets to sign with now: the newest, and one it replaced less than a day ago.
    fn signing_secrets(&self, row: &EndpointRow) -> Result<Vec<Secret>> {
        let now = self.now();
        self.open_secrets(row)?
            .iter()
            .filter(|h| h.in_force(now))
            .map(|h| {
                Secret::parse(&h.secret)
                    .map_err(|e| CoreError::Internal(format!("a stored webhook secret: {e}")))
            })
            .collect()
    }
}

fn endpoint(row: EndpointRow, waiting: i64, delivered: i64) -> Endpoint {
    Endpoint {
        id: row.id,
        url: row.url,
        kinds: row
            .kinds
            .unwrap_or_default()
            .iter()
            .map(|k| k.as_str().to_string())
            .collect(),
        created_at: row.created_at,
        failing_since: row.failing_since,
        disabled_at: row.disabled_at,
        waiting,
        delivered,
    }
}

fn unknown_endpoint(id: Uuid) -> CoreError {
    InvalidInput::one(
        "webhook",
        format!("{id} is not a webhook endpoint"),
        "an id `vintrova webhook list` shows",
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_known_words_or_every_kind() {
        assert_eq!(parse_kinds(&[]).unwrap(), None);
        assert_eq!(parse_kinds(&["*".into()]).unwrap(), None);
        assert_eq!(
            parse_kinds(&["consent.withdrawn, subject.erased".into()]).unwrap(),
            Some(vec![EventKind::ConsentWithdrawn, EventKind::SubjectErased])
        );
        let refused = parse_kinds(&["consent.revoked".into()]).unwrap_err();
        assert_eq!(refused.problems[0].field, "kinds");
        assert!(refused.problems[0].expected.contains("consent.withdrawn"));
    }

    #[test]
    fn an_endpoint_is_an_http_address_without_credentials() {
        assert!(check_url("https://platform.example/hooks").is_ok());
        assert!(check_url("http://127.0.0.1:8080/").is_ok());
        for bad in [
            "ftp://platform.example/",
            "https://",
            "https://user:pass@platform.example/",
            "platform.example/hooks",
            "https://platform.example/a b",
        ] {
            let refused = check_url(bad).unwrap_err();
            assert_eq!(refused.problems[0].field, "url", "{bad}");
        }
    }

    #[test]
    fn retries_back_off_to_every_eight_hours() {
        assert_eq!(backoff(1), SignedDuration::from_secs(5));
        assert_eq!(backoff(2), SignedDuration::from_secs(30));
        assert_eq!(backoff(8), SignedDuration::from_secs(14_400));
        assert_eq!(backoff(40), SignedDuration::from_secs(28_800));
    }
}
