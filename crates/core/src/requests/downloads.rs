//! A copy of one's data behind a download link (R6.1 access): stored once, LZ4-packed and
//! sealed under the outbox key, found by its token's digest, served as the bytes it was made.

use jiff::Timestamp;
use serde::Serialize;
use uuid::Uuid;

use super::{AnswerChannel, Request, held_place};
use crate::letters::Letter;
use crate::names;
use crate::{AccessCopy, CoreError, Result, Vintrova};

/// A link to a copy of one's data, and until when it works.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Download {
    pub token: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: Timestamp,
}

/// A download as stored: the token's digest, the sealed copy, its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadRecord {
    pub digest: Vec<u8>,
    pub subject: Uuid,
    pub sealed: Vec<u8>,
    pub expires_at: Timestamp,
}

/// Marks a stored copy as LZ4-compressed JSON; a copy stored before is JSON itself, which
/// never starts with this.
const COMPRESSED: &[u8] = b"VZ1";

/// A copy as stored: its JSON compressed (a 10,000-visit copy's 2.5 MB of JSON repeats field
/// names and dates, and shrinks several times over), so sealing and writing it costs less.
fn pack_copy(copy: &AccessCopy) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(copy).map_err(|e| CoreError::Internal(e.to_string()))?;
    Ok([COMPRESSED, &lz4_flex::compress_prepend_size(&json)].concat())
}

fn open_copy(app: &Vintrova, record: &DownloadRecord) -> Result<StoredCopy> {
    let plaintext = vintrova_vault::open(
        app.vault().outbox(),
        &held_place("downloads", &hex::encode(&record.digest)),
        &record.sealed,
    )
    .ok_or_else(|| CoreError::Internal("a stored copy does not open".into()))?;
    unpack_copy(plaintext)
}

fn unpack_copy(plaintext: Vec<u8>) -> Result<StoredCopy> {
    Ok(StoredCopy(match plaintext.strip_prefix(COMPRESSED) {
        Some(packed) => lz4_flex::decompress_size_prepended(packed)
            .map_err(|e| CoreError::Internal(format!("a stored copy does not unpack: {e}")))?,
        None => plaintext,
    }))
}

/// A copy behind a link, opened: its JSON as it was stored, served as it is (no parsing and
/// writing again) or read to draw its page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCopy(Vec<u8>);

impl StoredCopy {
    /// The copy's JSON, byte for byte as it was made.
    pub fn json(&self) -> &[u8] {
        &self.0
    }

    /// The copy read as JSON, to draw its page (`AccessCopy::read` takes either shape).
    pub fn read(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.0).map_err(|e| CoreError::Internal(e.to_string()))
    }
}

/// How long a download link works.
pub const DOWNLOAD_VALID: jiff::SignedDuration = jiff::SignedDuration::from_hours(24 * 7);

impl Vintrova {
    /// Keep a copy for download behind a random token, and tell the person where it is when
    /// they asked for an answer by email.
    pub(super) async fn issue_download(
        &self,
        request: &Request,
        copy: &AccessCopy,
    ) -> Result<Download> {
        let token = crate::accounts::random_token()?;
        let digest = crate::accounts::digest_of(&token);
        let expires_at = self
            .now()
            .checked_add(DOWNLOAD_VALID)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let plaintext = pack_copy(copy)?;
        let record = DownloadRecord {
            sealed: vintrova_vault::seal(
                self.vault().outbox(),
                &held_place("downloads", &hex::encode(&digest)),
                &plaintext,
            ),
            digest,
            subject: request.subject,
            expires_at,
        };
        let address = copy.value(names::EMAIL).and_then(|v| v.as_str());
        let message = match (request.channel, address) {
            (AnswerChannel::Email, Some(to)) => {
                let link = format!(
                    "{}/api/v1/downloads/{token}",
                    self.policy().operator.website.trim_end_matches('/')
                );
                let (title, body) = Letter::CopyReady {
                    link: &link,
                    until: expires_at,
                }
                .write(&self.language_of(request.subject).await?);
                Some(self.outbox_entry(Some(request.subject), "request:answer", to, &title, &body))
            }
            _ => None,
        };
        self.store()
            .insert_download(&record, message.as_ref())
            .await?;
        Ok(Download { token, expires_at })
    }

    /// The copy behind a download token, while the link works.
    pub async fn download(&self, token: &str) -> Result<StoredCopy> {
        let digest = crate::accounts::digest_of(token);
        let record = self
            .store()
            .download(&digest)
            .await?
            .filter(|r| r.expires_at > self.now())
            .ok_or(CoreError::Gone)?;
        open_copy(self, &record)
    }

    /// The newest copy an access request made for this person, while it is kept, for their
    /// cabinet (the session is the credential there).
    pub async fn latest_copy(&self, subject: Uuid) -> Result<Option<StoredCopy>> {
        match self.kept_copy(subject).await? {
            Some(record) => open_copy(self, &record).map(Some),
            None => Ok(None),
        }
    }

    /// Whether a copy is waiting for this person, without opening it: the cabinet links to it
    /// only then.
    pub async fn has_copy(&self, subject: Uuid) -> Result<bool> {
        Ok(self.kept_copy(subject).await?.is_some())
    }

    async fn kept_copy(&self, subject: Uuid) -> Result<Option<DownloadRecord>> {
        let now = self.now();
        Ok(self
            .store()
            .downloads_of(subject)
            .await?
            .into_iter()
            .rev()
            .find(|r| r.expires_at > now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy with `visits` visits, each its own entry, as an access request would store it.
    fn copy_with(visits: usize) -> AccessCopy {
        let entries: Vec<serde_json::Value> = (0..visits)
            .map(|i| {
                serde_json::json!({
                    "collected_at": format!("2026-{:02}-01T10:{:02}:00Z", 1 + i % 12, i % 60),
                    "source": "visit_technical",
                    "event": Uuid::now_v7(),
                    "values": {"technical.ip": format!("10.0.{}.{}", i / 250, i % 250),
                               "technical.browser": "Firefox 132", "technical.os": "Linux"}
                })
            })
            .collect();
        AccessCopy::read(serde_json::json!({
            "format": crate::copy::COPY_FORMAT, "subject": Uuid::nil(),
            "exported_at": "2026-11-30T10:00:00Z", "policy_version": "1",
            "created_at": "2026-01-01T10:00:00Z",
            "categories": [{"category": "technical", "legal_basis": "contract", "purposes": [],
                "retention": {"rule": "security", "anchor": "collected", "term": "P1Y",
                              "required_by_law": false},
                "entries": entries}],
            "bases": [], "consents": [], "requests": [], "accesses": []
        }))
        .unwrap()
    }

    #[test]
    fn a_stored_copy_is_packed_smaller_and_opens_as_the_same_copy() {
        let copy = copy_with(1_000);
        let json = serde_json::to_vec(&copy).unwrap();
        let packed = pack_copy(&copy).unwrap();
        assert!(
            packed.len() * 2 < json.len(),
            "packed {} of {} bytes",
            packed.len(),
            json.len()
        );
        let opened = unpack_copy(packed).unwrap();
        assert_eq!(opened.json(), json, "the bytes as they were made");
        assert_eq!(opened.read().unwrap(), serde_json::to_value(&copy).unwrap());
    }

    #[test]
    fn a_copy_stored_before_packing_still_opens() {
        let copy = copy_with(3);
        let plain = serde_json::to_vec(&copy).unwrap();
        assert_eq!(
            unpack_copy(plain).unwrap().read().unwrap(),
            serde_json::to_value(&copy).unwrap()
        );
        assert!(unpack_copy(b"VZ1 not lz4".to_vec()).is_err());
    }
}
