//! Signed erasure receipts (R8.2, issue 9): what an erasure destroyed and when, what it kept,
//! under which rule and until when — and nothing else of the person — signed with the server's
//! Ed25519 key, so the person or a regulator can check it offline with the published key alone.
//! The server keeps only the receipt's hash: the person it was about may no longer exist.
//!
//! A receipt is a text file: a JSON body, then one line `ed25519 <base64 signature>` over the
//! body's exact bytes. That split is what lets standard tools check it (README: "Erasure
//! receipts"): `sed '$d'` gives the body, `tail -n 1` the signature, `openssl pkeyutl -verify`
//! the answer.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use vintrova_vault::{PublicKey, SigningKey};

use crate::words::words;

pub const FORMAT: &str = "vintrova-erasure-receipt/1";
const SIGNATURE: &str = "ed25519 ";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErasureCause {
    /// The person asked (the right to erasure).
    Request,
    /// The retention term ran out and the sweep removed the person.
    Retention,
}

words!(ErasureCause {
    Request => "request",
    Retention => "retention",
});

/// Data an erasure kept: which categories, under which rule, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeptPart {
    pub categories: Vec<String>,
    pub rule: String,
    /// When it falls due; `None` while its term has not begun (kept while the services are
    /// used).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub until: Option<Timestamp>,
}

/// What a receipt says. No name, address, id or value of the person: categories, rules, times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBody {
    pub format: String,
    /// The receipt's own number (not the person's).
    pub receipt: Uuid,
    pub issuer: String,
    pub cause: ErasureCause,
    /// When the keys were destroyed: from that moment the categories below are unreadable
    /// everywhere, backups included.
    pub erased_at: Timestamp,
    pub destroyed: Vec<String>,
    pub kept: Vec<KeptPart>,
    /// SHA-256 of the signing key (DER), as published.
    pub signing_key: String,
}

/// A receipt as the person gets it: the body and its signature, one text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedReceipt {
    pub id: Uuid,
    pub text: String,
}

impl SignedReceipt {
    /// What the server keeps: SHA-256 of the whole text.
    pub fn digest(&self) -> Vec<u8> {
        digest(&self.text)
    }

    /// The file name it travels under.
    pub fn file_name(&self) -> String {
        format!("erasure-receipt-{}.txt", self.id)
    }
}

pub fn digest(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
}

pub fn sign(body: &ReceiptBody, key: &SigningKey) -> SignedReceipt {
    let mut text = serde_json::to_string_pretty(body).expect("a receipt serializes");
    text.push('\n');
    let signature = STANDARD.encode(key.sign(text.as_bytes()));
    text.push_str(&format!("{SIGNATURE}{signature}\n"));
    SignedReceipt {
        id: body.receipt,
        text,
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReceiptError {
    #[error(
        "this is not a Vintrova erasure receipt: its last line must be `ed25519 <signature>` after a JSON body"
    )]
    NotAReceipt,
    #[error(
        "the signature does not verify with the key {key}: the receipt was changed after it was signed, or another key signed it"
    )]
    BadSignature { key: String },
    #[error("the signature verifies but the body is not a {FORMAT} receipt: {0}")]
    BadBody(String),
}

/// Check a receipt's signature with `key` and read what it says.
pub fn verify(text: &str, key: &PublicKey) -> Result<ReceiptBody, ReceiptError> {
    let trimmed = text.strip_suffix('\n').ok_or(ReceiptError::NotAReceipt)?;
    let (body, last) = trimmed.rsplit_once('\n').ok_or(ReceiptError::NotAReceipt)?;
    let body = &text[..body.len() + 1];
    let signature = last
        .strip_prefix(SIGNATURE)
        .and_then(|s| STANDARD.decode(s).ok())
        .ok_or(ReceiptError::NotAReceipt)?;
    if !key.verify(body.as_bytes(), &signature) {
        return Err(ReceiptError::BadSignature {
            key: key.fingerprint(),
        });
    }
    let parsed: ReceiptBody =
        serde_json::from_str(body).map_err(|e| ReceiptError::BadBody(e.to_string()))?;
    if parsed.format != FORMAT {
        return Err(ReceiptError::BadBody(format!("format `{}`", parsed.format)));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> ReceiptBody {
        ReceiptBody {
            format: FORMAT.into(),
            receipt: Uuid::now_v7(),
            issuer: "Vintrova".into(),
            cause: ErasureCause::Request,
            erased_at: "2026-11-26T10:00:00Z".parse().unwrap(),
            destroyed: vec!["contact".into(), "learning".into()],
            kept: vec![KeptPart {
                categories: vec!["payment".into()],
                rule: "financial_records".into(),
                until: Some("2031-11-26T10:00:00Z".parse().unwrap()),
            }],
            signing_key: "ab".into(),
        }
    }

    #[test]
    fn a_receipt_verifies_and_fails_after_any_byte_is_changed() {
        let key = SigningKey::from_seed(&vintrova_vault::SecretKey::generate());
        let signed = sign(&body(), &key);
        assert_eq!(verify(&signed.text, &key.public()), Ok(body_with(&signed)));
        let bytes = signed.text.as_bytes();
        for i in 0..bytes.len() {
            let mut changed = bytes.to_vec();
            changed[i] ^= 0x01;
            let Ok(text) = String::from_utf8(changed) else {
                continue;
            };
            assert!(verify(&text, &key.public()).is_err(), "byte {i} changed");
        }
    }

    fn body_with(signed: &SignedReceipt) -> ReceiptBody {
        ReceiptBody {
            receipt: signed.id,
            ..body()
        }
    }
}
