//! Sealing, blind indexes and chain links. Every key is 256 bits of OS randomness.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// 256 bits of key material that is wiped from memory when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random source is unavailable");
        SecretKey(bytes)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SecretKey(bytes)
    }

    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// HMAC-SHA256 of `message` under this key, separated by `context` from every other use.
    pub fn mac(&self, context: &str, message: &[u8]) -> [u8; 32] {
        hmac(self, &[context.as_bytes(), message])
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

/// A data key: seals one subject's values of one retention class.
pub type DataKey = SecretKey;

/// Where a sealed value lives. Bound into the ciphertext as associated data, so a value moved
/// to another subject, table, column or row no longer opens.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub subject: uuid::Uuid,
    pub table: &'a str,
    pub column: &'a str,
    pub row: &'a str,
}

impl Place<'_> {
    fn associated_data(&self) -> Vec<u8> {
        let mut aad = Vec::with_capacity(96);
        aad.extend_from_slice(b"vintrova/v1\0");
        aad.extend_from_slice(self.subject.as_bytes());
        for part in [self.table, self.column, self.row] {
            aad.extend_from_slice(&(part.len() as u32).to_be_bytes());
            aad.extend_from_slice(part.as_bytes());
        }
        aad
    }
}

/// Encrypt `plaintext` for `place`: random 192-bit nonce, then ciphertext and tag.
pub fn seal(key: &SecretKey, place: &Place<'_>, plaintext: &[u8]) -> Vec<u8> {
    seal_with_aad(key, &place.associated_data(), plaintext)
}

/// Decrypt a value sealed for `place`; `None` when the key, place or bytes are not the ones
/// it was sealed with.
pub fn open(key: &SecretKey, place: &Place<'_>, sealed: &[u8]) -> Option<Vec<u8>> {
    open_with_aad(key, &place.associated_data(), sealed)
}

/// Seal with caller-chosen associated data (backup chunks bind their file and position).
pub fn seal_with_aad(key: &SecretKey, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).expect("the operating system's random source is unavailable");
    let body = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
    let mut out = Vec::with_capacity(NONCE_LEN + body.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&body);
    out
}

pub fn open_with_aad(key: &SecretKey, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    cipher
        .decrypt(&XNonce::from(nonce), Payload { msg: body, aad })
        .ok()
}

fn hmac(key: &SecretKey, parts: &[&[u8]]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256>>::new_from_slice(key.expose()).expect("HMAC takes a key of any length");
    for part in parts {
        mac.update(&(part.len() as u32).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Keyed index for finding a subject by a value without storing the value (HMAC-SHA256).
#[derive(Clone, Debug)]
pub struct BlindIndexKey(pub(crate) SecretKey);

impl BlindIndexKey {
    /// The digest of a normalized value of `field`; equal values of one field give equal
    /// digests, and nothing about the value can be learnt without the key.
    pub fn digest(&self, field: &str, normalized: &str) -> [u8; 32] {
        hmac(
            &self.0,
            &[b"blind-index", field.as_bytes(), normalized.as_bytes()],
        )
    }
}

/// Key of the audit log's hash chain: without it, nobody can recompute a link after editing
/// an entry, so an edit cannot be hidden by rehashing the rest of the chain.
#[derive(Clone, Debug)]
pub struct ChainKey(pub(crate) SecretKey);

impl ChainKey {
    /// A chain key from key material (the vault derives the server's; tests make their own).
    pub fn from_secret(key: SecretKey) -> Self {
        ChainKey(key)
    }

    pub fn link(&self, previous: &[u8; 32], entry: &[u8]) -> [u8; 32] {
        hmac(&self.0, &[b"audit-chain", previous, entry])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn place(row: &str) -> Place<'_> {
        Place {
            subject: uuid::Uuid::nil(),
            table: "pd_values",
            column: "sealed",
            row,
        }
    }

    proptest! {
        #[test]
        fn sealed_values_open_only_at_their_place_with_their_key(msg in proptest::collection::vec(any::<u8>(), 0..512)) {
            let key = SecretKey::generate();
            let sealed = seal(&key, &place("contact.email"), &msg);
            prop_assert_eq!(open(&key, &place("contact.email"), &sealed), Some(msg.clone()));
            prop_assert_eq!(open(&key, &place("contact.phone"), &sealed), None);
            prop_assert_eq!(open(&SecretKey::generate(), &place("contact.email"), &sealed), None);
        }

        #[test]
        fn any_flipped_bit_makes_a_sealed_value_unreadable(msg in proptest::collection::vec(any::<u8>(), 1..64), bit in 0usize..8, at in any::<prop::sample::Index>()) {
            let key = SecretKey::generate();
            let mut sealed = seal(&key, &place("row"), &msg);
            let i = at.index(sealed.len());
            sealed[i] ^= 1 << bit;
            prop_assert_eq!(open(&key, &place("row"), &sealed), None);
        }
    }

    #[test]
    fn same_value_seals_differently_each_time() {
        let key = SecretKey::generate();
        assert_ne!(
            seal(&key, &place("r"), b"same"),
            seal(&key, &place("r"), b"same")
        );
    }

    #[test]
    fn blind_index_separates_fields_and_keys() {
        let a = BlindIndexKey(SecretKey::generate());
        let b = BlindIndexKey(SecretKey::generate());
        assert_eq!(
            a.digest("contact.email", "x@y.kz"),
            a.digest("contact.email", "x@y.kz")
        );
        assert_ne!(
            a.digest("contact.email", "x@y.kz"),
            a.digest("contact.phone", "x@y.kz")
        );
        assert_ne!(
            a.digest("contact.email", "x@y.kz"),
            b.digest("contact.email", "x@y.kz")
        );
    }
}
