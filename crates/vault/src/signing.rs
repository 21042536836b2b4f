//! The server's Ed25519 key. It signs what must be checkable without trusting the server or
//! its database — erasure receipts and the audit chain's head — so a person, a regulator or an
//! operator can check them offline with the public half alone (and standard tools: the public
//! half is published as an X.509 SubjectPublicKeyInfo PEM, which `openssl pkeyutl` reads).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use sha2::{Digest, Sha256};

use crate::SecretKey;

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw 32 bytes follow it.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The private half, held only unwrapped in memory; its seed is a system key in the key store.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl SigningKey {
    pub fn from_seed(seed: &SecretKey) -> Self {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed.expose())
            .expect("any 32 bytes are an Ed25519 seed");
        SigningKey { pair }
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.pair.sign(message).as_ref());
        out
    }

    pub fn public(&self) -> PublicKey {
        let mut raw = [0u8; 32];
        raw.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(raw)
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public().fingerprint())
    }
}

/// The public half: what verifies a signature, safe to publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.0)
            .verify(message, signature)
            .is_ok()
    }

    fn der(&self) -> Vec<u8> {
        [SPKI_PREFIX.as_slice(), self.0.as_slice()].concat()
    }

    /// The PEM `openssl` reads (`-----BEGIN PUBLIC KEY-----`).
    pub fn to_pem(&self) -> String {
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD.encode(self.der())
        )
    }

    /// Read a PEM written by [`PublicKey::to_pem`] or by `openssl pkey -pubout`.
    pub fn from_pem(text: &str) -> Option<PublicKey> {
        let body: String = text
            .lines()
            .map(str::trim)
            .skip_while(|l| *l != "-----BEGIN PUBLIC KEY-----")
            .skip(1)
            .take_while(|l| *l != "-----END PUBLIC KEY-----")
            .collect();
        let der = STANDARD.decode(body).ok()?;
        let raw = der.strip_prefix(SPKI_PREFIX.as_slice())?;
        Some(PublicKey(raw.try_into().ok()?))
    }

    /// SHA-256 of the DER key, in hex: what
    /// `openssl pkey -pubin -in key.pem -outform DER | sha256sum` prints.
    pub fn fingerprint(&self) -> String {
        hex_of(&Sha256::digest(self.der()))
    }
}

pub(crate) fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_with_the_public_half_and_fails_for_any_changed_byte() {
        let key = SigningKey::from_seed(&SecretKey::generate());
        let message = b"erased: contact, professional";
        let signature = key.sign(message);
        let public = PublicKey::from_pem(&key.public().to_pem()).expect("our PEM reads back");
        assert!(public.verify(message, &signature));
        for i in 0..message.len() {
            let mut changed = message.to_vec();
            changed[i] ^= 1;
            assert!(!public.verify(&changed, &signature), "byte {i}");
        }
        let other = SigningKey::from_seed(&SecretKey::generate()).public();
        assert!(!other.verify(message, &signature));
    }
}
