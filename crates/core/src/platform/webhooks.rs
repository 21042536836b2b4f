//! Webhook signatures as the Standard Webhooks specification writes them: a secret `whsec_`
//! followed by the key in base64; each message signed with HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{body}`, the signature sent as `v1,<base64>` in the
//! `webhook-signature` header — several, space-separated, while a secret is being rotated. The
//! receiver checks one of them against a secret it holds, and the timestamp against its clock,
//! so a replayed message is refused. Delivery (an outbox written with each change) builds on
//! this; `vintrova webhook verify` is the receiver's side for a script.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far a message's timestamp may be from the receiver's clock.
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

const PREFIX: &str = "whsec_";

/// A signing secret: the key behind `whsec_…`.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the secret is not `whsec_` followed by base64")]
    Secret,
    #[error("the timestamp is not whole seconds since 1970")]
    Timestamp,
    #[error("the timestamp is more than five minutes from now: a replay, or a clock to fix")]
    Stale,
    #[error("no `v1` signature matches the secrets given")]
    Signature,
}

impl Secret {
    /// A new random secret.
    pub fn generate() -> crate::Result<Secret> {
        let mut key = vec![0u8; 32];
        getrandom::fill(&mut key).map_err(|e| crate::CoreError::Internal(e.to_string()))?;
        Ok(Secret(key))
    }

    pub fn parse(text: &str) -> Result<Secret, Refused> {
        let encoded = text.trim().strip_prefix(PREFIX).ok_or(Refused::Secret)?;
        match STANDARD.decode(encoded) {
            Ok(key) if !key.is_empty() => Ok(Secret(key)),
            _ => Err(Refused::Secret),
        }
    }

    /// As it is given to the receiver.
    pub fn reveal(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        mac
    }

    /// The `v1,<base64>` signature of one message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = self.mac(id, timestamp, body).finalize().into_bytes();
        format!("v1,{}", STANDARD.encode(tag))
    }
}

/// The `webhook-signature` header for a message: one signature per secret in force (during a
/// rotation, the old and the new), space-separated.
pub fn signature_header(secrets: &[Secret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| s.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Check a received message: its timestamp within [`TOLERANCE_SECONDS`] of `now` (seconds since
/// 1970), and one `v1` signature in the header made with one of `secrets`. Constant time in the
/// signature's bytes.
pub fn verify(
    secrets: &[Secret],
    (id, timestamp, header): (&str, &str, &str),
    body: &[u8],
    now: i64,
) -> Result<(), Refused> {
    let timestamp: i64 = timestamp.trim().parse().map_err(|_| Refused::Timestamp)?;
    if (now - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(Refused::Stale);
    }
    let offered: Vec<Vec<u8>> = header
        .split_whitespace()
        .filter_map(|one| one.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .collect();
    let matches = secrets.iter().any(|secret| {
        offered
            .iter()
            .any(|tag| secret.mac(id, timestamp, body).verify_slice(tag).is_ok())
    });
    match matches {
        true => Ok(()),
        false => Err(Refused::Signature),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example the Standard Webhooks libraries are tested with: a receiver using any of
    /// them accepts what we sign.
    #[test]
    fn we_sign_as_the_standard_webhooks_reference_does() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_receiver_accepts_a_signed_message_under_either_secret_and_nothing_altered_or_old() {
        let (old, new) = (Secret::generate().unwrap(), Secret::generate().unwrap());
        let body = br#"{"type":"consent.withdrawn"}"#;
        let header = signature_header(&[old.clone(), new.clone()], "evt_1", 1_800_000_000, body);
        assert_eq!(header.split(' ').count(), 2, "one per secret in force");
        let at = |now| {
            verify(
                std::slice::from_ref(&new),
                ("evt_1", "1800000000", &header),
                body,
                now,
            )
        };
        assert_eq!(at(1_800_000_100), Ok(()), "the new secret alone verifies");
        assert_eq!(
            verify(
                std::slice::from_ref(&old),
                ("evt_1", "1800000000", &header),
                body,
                1_800_000_000
            ),
            Ok(()),
            "and the old one, during the rotation"
        );
        assert_eq!(
            at(1_800_000_000 + TOLERANCE_SECONDS + 1),
            Err(Refused::Stale)
        );
        assert_eq!(
            verify(
                std::slice::from_ref(&new),
                ("evt_1", "1800000000", &header),
                b"{}",
                1_800_000_000
            ),
            Err(Refused::Signature),
            "an altered body"
        );
        assert_eq!(
            verify(
                std::slice::from_ref(&new),
                ("evt_2", "1800000000", &header),
                body,
                1_800_000_000
            ),
            Err(Refused::Signature),
            "another message's id"
        );
        let stranger = Secret::generate().unwrap();
        assert_eq!(
            verify(
                &[stranger],
                ("evt_1", "1800000000", &header),
                body,
                1_800_000_000
            ),
            Err(Refused::Signature)
        );
        assert_eq!(Secret::parse(&new.reveal()).unwrap().0, new.0);
        assert_eq!(Secret::parse("sk_live_abc").unwrap_err(), Refused::Secret);
    }
}
