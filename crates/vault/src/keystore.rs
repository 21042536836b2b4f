//! Data keys wrapped by the master key, kept in a key store apart from the data.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use uuid::Uuid;

use crate::crypto::{open_with_aad, seal_with_aad};
use crate::head::{HeadFile, HeadFileError};
use crate::signing::SigningKey;
use crate::{BlindIndexKey, ChainKey, DataKey, MasterKey, SecretKey};

/// Whose key a stored key is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyOwner {
    /// A subject's data key for one retention class (profile, learning, financial, …).
    Subject { id: Uuid, class: String },
    /// A key of the system itself: the blind index key, the audit chain key.
    System(String),
}

/// A key as the key store holds it: wrapped, never in clear.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub owner: KeyOwner,
    pub kek_version: u32,
    pub wrapped: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
#[error("the key store could not {action}: {message}")]
pub struct KeyStoreError {
    pub action: &'static str,
    pub message: String,
}

/// Where wrapped keys live. Kept apart from the data (its own file on SQLite, its own schema
/// on PostgreSQL), so that a copy of the data alone reveals nothing.
#[async_trait::async_trait]
pub trait KeyStore: Send + Sync {
    /// Store keys that are not there yet; a key already present is left as it is. Returns how
    /// many were stored.
    async fn insert_keys(&self, keys: &[StoredKey]) -> Result<u64, KeyStoreError>;
    async fn subject_keys(&self, subject: Uuid) -> Result<Vec<StoredKey>, KeyStoreError>;
    async fn system_keys(&self) -> Result<Vec<StoredKey>, KeyStoreError>;
    /// Destroy the subject's keys of the given classes; returns how many were destroyed. Their
    /// bytes may linger in the store's files until [`KeyStore::scrub`].
    /// Destroy each listed person's keys of the listed classes, all in one transaction.
    async fn destroy_subject_keys(
        &self,
        owners: &[(Uuid, Vec<String>)],
    ) -> Result<u64, KeyStoreError>;
    /// Make sure the bytes of destroyed keys leave the store's files.
    async fn scrub(&self) -> Result<(), KeyStoreError>;
    async fn all_keys(&self) -> Result<Vec<StoredKey>, KeyStoreError>;
    /// Replace every listed key's wrapping and version, all or nothing.
    async fn rewrap_keys(&self, keys: &[StoredKey]) -> Result<(), KeyStoreError>;
    /// The audit chain's head as last anchored: (sequence number, hash).
    async fn chain_anchor(&self) -> Result<Option<(i64, Vec<u8>)>, KeyStoreError>;
    /// Move the anchor forward to (seq, hash); an anchor already further is left alone.
    async fn advance_chain_anchor(&self, seq: i64, hash: &[u8]) -> Result<(), KeyStoreError>;
    /// Set the anchor to (seq, hash) even when it was further: only when an operator accepts,
    /// on the record, that the log lost its tail.
    async fn reset_chain_anchor(&self, seq: i64, hash: &[u8]) -> Result<(), KeyStoreError>;
    /// Where the pruned audit log was cut: (sequence number, hash) of the last pruned entry.
    async fn chain_checkpoint(&self) -> Result<Option<(i64, Vec<u8>)>, KeyStoreError>;
    /// The checkpoint's seal: the time of the last pruned entry and the server's signature.
    async fn chain_checkpoint_seal(
        &self,
    ) -> Result<Option<(Option<String>, Option<Vec<u8>>)>, KeyStoreError>;
    /// Move the cut forward to (seq, hash) with its seal; a cut already further is left alone.
    async fn set_chain_checkpoint(
        &self,
        seq: i64,
        hash: &[u8],
        pruned_at: &str,
        signature: &[u8],
    ) -> Result<(), KeyStoreError>;
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "the audit log's checkpoint is not signed by this server: someone wrote a cut into the key store to hide a deleted prefix of the log; keep the database as evidence and investigate"
    )]
    CheckpointNotSigned,
    #[error(
        "the master key file holds version {file} but the key store was wrapped with version {store}; use the master key file from your backup of that version"
    )]
    MasterKeyVersion { file: u32, store: u32 },
    #[error(
        "the master key does not open the key store: the key file does not belong to this data; restore the right master key from your backup"
    )]
    WrongMasterKey,
    #[error(transparent)]
    Store(#[from] KeyStoreError),
    #[error(transparent)]
    HeadFile(#[from] HeadFileError),
}

/// Where the pruned audit log was cut, as the server signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: Vec<u8>,
    /// When the last pruned entry was written (RFC 3339).
    pub pruned_at: String,
}

/// What a checkpoint's signature covers.
fn checkpoint_line(seq: i64, hash: &[u8], pruned_at: &str) -> String {
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("vintrova-audit-checkpoint/1 {seq} {hex} {pruned_at}")
}

/// One place that remembers how far the audit chain reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// Where it is kept, for the message when the chain falls short of it.
    pub place: String,
    pub seq: i64,
    pub hash: Vec<u8>,
}

const BLIND_INDEX: &str = "blind_index";
const AUDIT_CHAIN: &str = "audit_chain";
const OUTBOX: &str = "outbox";
const SIGNING: &str = "signing";
const SYSTEM_KEYS: [&str; 4] = [BLIND_INDEX, AUDIT_CHAIN, OUTBOX, SIGNING];
/// The prefix of a shared secret's name among the system keys.
const SHARED: &str = "shared:";

/// The unwrapped keys one subject has, by retention class.
pub struct SubjectKeys {
    keys: HashMap<String, DataKey>,
}

impl SubjectKeys {
    pub fn class(&self, class: &str) -> Option<&DataKey> {
        self.keys.get(class)
    }

    pub fn classes(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }
}

/// The key hierarchy in use: the master key, the key store, and the system keys it opened.
pub struct Vault {
    master: MasterKey,
    store: Arc<dyn KeyStore>,
    blind_index: BlindIndexKey,
    chain: ChainKey,
    outbox: SecretKey,
    signing: SigningKey,
    head: Option<HeadFile>,
}

impl Vault {
    /// Open the key store with `master`. Creates the system keys it lacks: all of them on first
    /// use, a new one after an upgrade — but only once the existing ones proved the master key.
    pub async fn open(master: MasterKey, store: Arc<dyn KeyStore>) -> Result<Vault, VaultError> {
        let unwrap_all = |stored: &[StoredKey]| -> Result<HashMap<String, SecretKey>, VaultError> {
            let mut keys = HashMap::new();
            for s in stored {
                if let KeyOwner::System(name) = &s.owner {
                    keys.insert(name.clone(), unwrap(&master, s)?);
                }
            }
            Ok(keys)
        };
        let mut unwrapped = unwrap_all(&store.system_keys().await?)?;
        let missing: Vec<StoredKey> = SYSTEM_KEYS
            .iter()
            .filter(|name| !unwrapped.contains_key(**name))
            .map(|name| {
                wrap(
                    &master,
                    KeyOwner::System((*name).into()),
                    &SecretKey::generate(),
                )
            })
            .collect();
        if !missing.is_empty() {
            store.insert_keys(&missing).await?;
            // Read back: a concurrent first start may have stored its keys first.
            unwrapped = unwrap_all(&store.system_keys().await?)?;
        }
        let mut take = |name: &str| unwrapped.remove(name).ok_or(VaultError::WrongMasterKey);
        Ok(Vault {
            blind_index: BlindIndexKey(take(BLIND_INDEX)?),
            chain: ChainKey(take(AUDIT_CHAIN)?),
            outbox: take(OUTBOX)?,
            signing: SigningKey::from_seed(&take(SIGNING)?),
            head: None,
            master,
            store,
        })
    }

    /// A secret every server of this installation shares — the API token, the payment
    /// provider's signing secret — kept in the key store wrapped by the master key, so the
    /// master key is the one file a new server needs. Made by whichever server asks first
    /// (from `existing`, the file an earlier version kept, when there is one); every later ask,
    /// on any server, gets the same bytes.
    pub async fn shared_secret(
        &self,
        name: &str,
        existing: Option<[u8; 32]>,
    ) -> Result<[u8; 32], VaultError> {
        let owner = KeyOwner::System(format!("{SHARED}{name}"));
        if let Some(found) = self.system_key(&owner).await? {
            return Ok(found);
        }
        let key = existing.map_or_else(SecretKey::generate, SecretKey::from_bytes);
        self.store
            .insert_keys(&[wrap(&self.master, owner.clone(), &key)])
            .await?;
        // Read back: another server may have stored its own a moment before; theirs stands.
        self.system_key(&owner)
            .await?
            .ok_or(VaultError::WrongMasterKey)
    }

    async fn system_key(&self, owner: &KeyOwner) -> Result<Option<[u8; 32]>, VaultError> {
        for stored in self.store.system_keys().await? {
            if &stored.owner == owner {
                return Ok(Some(*unwrap(&self.master, &stored)?.expose()));
            }
        }
        Ok(None)
    }

    /// Record the audit chain's head in `file` too, outside the database, on every append.
    pub fn with_head_file(mut self, file: HeadFile) -> Self {
        self.head = Some(file);
        self
    }

    /// The server's signing key (erasure receipts, the audit head).
    pub fn signing(&self) -> &SigningKey {
        &self.signing
    }

    /// Move the audit chain's anchors forward to (seq, hash): the key store's, and the head
    /// file's when there is one.
    pub async fn anchor(&self, seq: i64, hash: &[u8]) -> Result<(), VaultError> {
        self.store.advance_chain_anchor(seq, hash).await?;
        if let Some(head) = &self.head {
            head.record(&self.signing, seq, hash)?;
        }
        Ok(())
    }

    /// Set both anchors to the log's present tail (seq, hash), even backwards: the one way an
    /// operator accepts a break the appender refused to write past.
    pub async fn accept_head(&self, seq: i64, hash: &[u8]) -> Result<(), VaultError> {
        self.store.reset_chain_anchor(seq, hash).await?;
        if let Some(head) = &self.head {
            head.reset(&self.signing, seq, hash)?;
        }
        Ok(())
    }

    /// The furthest head the anchors record, each checked to be genuine: where the log's tail
    /// must be. `None` before the first entry.
    pub async fn durable_head(&self) -> Result<Option<(i64, Vec<u8>)>, VaultError> {
        Ok(self
            .anchors()
            .await?
            .into_iter()
            .max_by_key(|a| a.seq)
            .map(|a| (a.seq, a.hash)))
    }

    /// The signed head file's text, for witnesses to keep; `None` without a head file or
    /// before the first append.
    pub fn signed_head_text(&self) -> Result<Option<String>, VaultError> {
        match &self.head {
            Some(head) => Ok(head.text()?),
            None => Ok(None),
        }
    }

    /// The head a witness kept (`text`, from `source`), once this server's signature checks
    /// out, as an anchor the chain must still reach or have been pruned past.
    pub fn witnessed(&self, text: &str, source: &Path) -> Result<Anchor, VaultError> {
        let (seq, hash) = crate::signed_head(text, &self.signing.public(), source)?;
        Ok(Anchor {
            place: format!("the witness {}", source.display()),
            seq,
            hash,
        })
    }

    /// Record where the pruned log is cut: (seq, hash) of the last pruned entry and its time,
    /// signed, so a cut written by anyone else is refused.
    pub async fn set_checkpoint(
        &self,
        seq: i64,
        hash: &[u8],
        pruned_at: &str,
    ) -> Result<(), VaultError> {
        let signature = self
            .signing
            .sign(checkpoint_line(seq, hash, pruned_at).as_bytes());
        self.store
            .set_chain_checkpoint(seq, hash, pruned_at, &signature)
            .await?;
        Ok(())
    }

    /// Where the pruned log is cut, with the time of the last pruned entry, once the server's
    /// signature over them checks out; a checkpoint without one is refused.
    pub async fn checkpoint(&self) -> Result<Option<Checkpoint>, VaultError> {
        let Some((seq, hash)) = self.store.chain_checkpoint().await? else {
            return Ok(None);
        };
        let seal = self.store.chain_checkpoint_seal().await?;
        let Some((Some(pruned_at), Some(signature))) = seal else {
            return Err(VaultError::CheckpointNotSigned);
        };
        if !self.signing.public().verify(
            checkpoint_line(seq, &hash, &pruned_at).as_bytes(),
            &signature,
        ) {
            return Err(VaultError::CheckpointNotSigned);
        }
        Ok(Some(Checkpoint {
            seq,
            hash,
            pruned_at,
        }))
    }

    /// Where the signed head file should be and is not: deleted, when the log has history.
    pub fn missing_head_file(&self) -> Option<&Path> {
        self.head
            .as_ref()
            .map(|h| h.path())
            .filter(|path| !path.exists())
    }

    /// Every anchor the chain must reach, each checked to be genuine.
    pub async fn anchors(&self) -> Result<Vec<Anchor>, VaultError> {
        let mut anchors = vec![];
        if let Some((seq, hash)) = self.store.chain_anchor().await? {
            anchors.push(Anchor {
                place: "the key store".into(),
                seq,
                hash,
            });
        }
        if let Some(head) = &self.head
            && let Some((seq, hash)) = head.read(&self.signing.public())?
        {
            anchors.push(Anchor {
                place: format!("the head file {}", head.path().display()),
                seq,
                hash,
            });
        }
        Ok(anchors)
    }

    /// The key that seals messages waiting in the outbox; they are purged once delivered.
    pub fn outbox(&self) -> &SecretKey {
        &self.outbox
    }

    pub fn master_version(&self) -> u32 {
        self.master.version
    }

    pub fn blind_index(&self) -> &BlindIndexKey {
        &self.blind_index
    }

    pub fn chain(&self) -> &ChainKey {
        &self.chain
    }

    pub fn key_store(&self) -> &dyn KeyStore {
        self.store.as_ref()
    }

    /// The subject's data keys, creating the ones of `classes` it does not have yet.
    pub async fn subject_keys_creating(
        &self,
        subject: Uuid,
        classes: &[&str],
    ) -> Result<SubjectKeys, VaultError> {
        let mut existing = self.subject_keys(subject).await?;
        let mut made = HashMap::new();
        let missing: Vec<StoredKey> = classes
            .iter()
            .filter(|c| existing.class(c).is_none())
            .map(|c| {
                let owner = KeyOwner::Subject {
                    id: subject,
                    class: (*c).to_string(),
                };
                let key = SecretKey::generate();
                let stored = wrap(&self.master, owner, &key);
                made.insert((*c).to_string(), key);
                stored
            })
            .collect();
        if missing.is_empty() {
            return Ok(existing);
        }
        if self.store.insert_keys(&missing).await? == missing.len() as u64 {
            // Every one stored: they are the keys, with no second read.
            existing.keys.extend(made);
            return Ok(existing);
        }
        // A concurrent writer stored some first: theirs stand; read them back.
        self.subject_keys(subject).await
    }

    /// The subject's data keys as they are; a destroyed class is simply absent.
    pub async fn subject_keys(&self, subject: Uuid) -> Result<SubjectKeys, VaultError> {
        let mut keys = HashMap::new();
        for stored in self.store.subject_keys(subject).await? {
            if let KeyOwner::Subject { class, .. } = &stored.owner {
                keys.insert(class.clone(), unwrap(&self.master, &stored)?);
            }
        }
        Ok(SubjectKeys { keys })
    }

    /// Crypto-shred one person's keys of `classes` (see [`Shredder::destroy`]) and scrub their
    /// bytes from the store's files before returning.
    pub async fn destroy(&self, subject: Uuid, classes: &[String]) -> Result<u64, VaultError> {
        let shredder = self.shredder();
        let destroyed = shredder.destroy(subject, classes).await;
        shredder.finish().await?;
        destroyed
    }

    /// Destroy the keys of many people and scrub the store's files once, at
    /// [`Shredder::finish`]: on SQLite each scrub is a truncating checkpoint, which was a fifth
    /// of the retention sweep when it ran per person.
    pub fn shredder(&self) -> Shredder<'_> {
        Shredder {
            vault: self,
            destroyed: AtomicBool::new(false),
        }
    }

    /// Re-wrap every key under `next` without touching the data they seal. The caller makes
    /// `next` durable before and switches to it after.
    pub async fn rotate(&self, next: &MasterKey) -> Result<usize, VaultError> {
        let all = self.store.all_keys().await?;
        let mut rewrapped = Vec::with_capacity(all.len());
        for stored in &all {
            let key = unwrap(&self.master, stored)?;
            rewrapped.push(wrap(next, stored.owner.clone(), &key));
        }
        self.store.rewrap_keys(&rewrapped).await?;
        Ok(rewrapped.len())
    }
}

fn wrap_aad(owner: &KeyOwner, version: u32) -> Vec<u8> {
    let mut aad = format!("vintrova/kek-wrap/v1/{version}/").into_bytes();
    match owner {
        KeyOwner::Subject { id, class } => {
            aad.extend_from_slice(b"subject/");
            aad.extend_from_slice(id.as_bytes());
            aad.extend_from_slice(class.as_bytes());
        }
        KeyOwner::System(name) => {
            aad.extend_from_slice(b"system/");
            aad.extend_from_slice(name.as_bytes());
        }
    }
    aad
}

fn wrap(master: &MasterKey, owner: KeyOwner, key: &SecretKey) -> StoredKey {
    let wrapped = seal_with_aad(&master.key, &wrap_aad(&owner, master.version), key.expose());
    StoredKey {
        owner,
        kek_version: master.version,
        wrapped,
    }
}

fn unwrap(master: &MasterKey, stored: &StoredKey) -> Result<SecretKey, VaultError> {
    if stored.kek_version != master.version {
        return Err(VaultError::MasterKeyVersion {
            file: master.version,
            store: stored.kek_version,
        });
    }
    let mut bytes = open_with_aad(
        &master.key,
        &wrap_aad(&stored.owner, master.version),
        &stored.wrapped,
    )
    .ok_or(VaultError::WrongMasterKey)?;
    let key: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| VaultError::WrongMasterKey)?;
    zeroize::Zeroize::zeroize(&mut bytes);
    Ok(SecretKey::from_bytes(key))
}

/// Destroys keys now and scrubs their bytes from the store's files when finished; see
/// [`Vault::shredder`]. `finish` must run whether or not the work between succeeded.
#[must_use = "destroyed keys stay in the store's files until `finish` scrubs them"]
pub struct Shredder<'a> {
    vault: &'a Vault,
    destroyed: AtomicBool,
}

impl Shredder<'_> {
    /// Crypto-shred: destroy the subject's keys of `classes`. Whatever they sealed is
    /// unreadable from this moment, wherever a copy of it lies.
    pub async fn destroy(&self, subject: Uuid, classes: &[String]) -> Result<u64, VaultError> {
        self.destroy_many(&[(subject, classes.to_vec())]).await
    }

    /// Crypto-shred several people at once: one transaction in the key store for all of them.
    pub async fn destroy_many(&self, owners: &[(Uuid, Vec<String>)]) -> Result<u64, VaultError> {
        // Marked before the attempt: a destroy that failed half-way may have left bytes behind.
        self.destroyed.store(true, Ordering::Relaxed);
        Ok(self.vault.store.destroy_subject_keys(owners).await?)
    }

    /// Scrub the destroyed keys' bytes from the store's files.
    pub async fn finish(self) -> Result<(), VaultError> {
        if self.destroyed.into_inner() {
            self.vault.store.scrub().await?;
        }
        Ok(())
    }
}
