//! The vault: the key hierarchy and the cryptography that makes personal data unreadable
//! without a purpose.
//!
//! Lives here: the master key (KEK) and its file, data keys (DEKs) per subject and retention
//! class wrapped by the KEK, XChaCha20-Poly1305 sealing with associated data that binds a
//! ciphertext to its place, keyed blind indexes, the audit chain's keyed hash, the server's
//! Ed25519 signing key, the audit head kept outside the database, and the key store port. May not: know SQL, HTTP or the policy; decide who may decrypt (the purpose gate in
//! `core` does, and is the only caller that opens a sealed value).

mod crypto;
mod head;
mod keyfile;
mod keystore;
mod signing;

pub use crypto::{
    BlindIndexKey, ChainKey, DataKey, Place, SecretKey, open, open_with_aad, seal, seal_with_aad,
};
pub use head::{HeadFile, HeadFileError, signed_head};
pub use keyfile::{KeyFileError, MasterKey};
pub use keystore::{
    Anchor, Checkpoint, KeyOwner, KeyStore, KeyStoreError, Shredder, StoredKey, SubjectKeys, Vault,
    VaultError,
};
pub use signing::{PublicKey, SigningKey};
