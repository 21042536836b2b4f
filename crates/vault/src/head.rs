//! The audit chain's head, signed, in a file outside the database (R7 audit; issue 9). The key
//! store's anchor catches entries cut off the end of the log by someone who can write the data
//! tables; on PostgreSQL the key store is a schema of the same database, so someone who can
//! write the whole database could rewind both. This file, written beside the master key on
//! every append, is out of that reach: cutting the log anywhere after the head it names fails
//! verification, and the file itself cannot be moved back or forged without the signing key.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::signing::{PublicKey, SigningKey, hex_of};

const FORMAT: &str = "vintrova-audit-head/1";

#[derive(Debug, thiserror::Error)]
pub enum HeadFileError {
    #[error("cannot write the audit head file {path}: {source}; check the data directory")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the audit head file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the audit head file {path} is not a head signed by this server's key: it was altered or replaced; keep it as evidence and investigate"
    )]
    Forged { path: PathBuf },
}

pub struct HeadFile {
    path: PathBuf,
    /// The furthest head any caller asked to record, and the furthest one written. Concurrent
    /// appends wait for one write that covers them all rather than each writing its own.
    pending: Mutex<(i64, Vec<u8>)>,
    written: Mutex<i64>,
}

impl HeadFile {
    /// Record heads at `path` from now on. A head already there is kept until a later one
    /// replaces it.
    pub fn at(path: PathBuf) -> HeadFile {
        let written = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| parse(&text).map(|(seq, ..)| seq))
            .unwrap_or(0);
        HeadFile {
            path,
            pending: Mutex::new((0, vec![])),
            written: Mutex::new(written),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write (seq, hash) even when the file names a later head (an accepted break).
    pub(crate) fn reset(
        &self,
        key: &SigningKey,
        seq: i64,
        hash: &[u8],
    ) -> Result<(), HeadFileError> {
        let mut written = self.written.lock().expect("head lock");
        *self.pending.lock().expect("head lock") = (seq, hash.to_vec());
        self.write(key, seq, hash)?;
        *written = seq;
        Ok(())
    }

    pub(crate) fn record(
        &self,
        key: &SigningKey,
        seq: i64,
        hash: &[u8],
    ) -> Result<(), HeadFileError> {
        {
            let mut pending = self.pending.lock().expect("head lock");
            if seq > pending.0 {
                *pending = (seq, hash.to_vec());
            }
        }
        let mut written = self.written.lock().expect("head lock");
        if *written >= seq {
            return Ok(());
        }
        let (seq, hash) = self.pending.lock().expect("head lock").clone();
        self.write(key, seq, &hash)?;
        *written = seq;
        Ok(())
    }

    /// Write the signed head, synced, replacing the file whole.
    fn write(&self, key: &SigningKey, seq: i64, hash: &[u8]) -> Result<(), HeadFileError> {
        let line = format!("{FORMAT} {seq} {}", hex_of(hash));
        let text = format!("{line} {}\n", STANDARD.encode(key.sign(line.as_bytes())));
        let fail = |source| HeadFileError::Write {
            path: self.path.clone(),
            source,
        };
        let partial = self.path.with_extension("partial");
        let mut file = std::fs::File::create(&partial).map_err(fail)?;
        file.write_all(text.as_bytes()).map_err(fail)?;
        file.sync_data().map_err(fail)?;
        std::fs::rename(&partial, &self.path).map_err(fail)?;
        Ok(())
    }

    /// The head the file names, once its signature checks out; `None` before the first write.
    pub fn read(&self, public: &PublicKey) -> Result<Option<(i64, Vec<u8>)>, HeadFileError> {
        match self.text()? {
            None => Ok(None),
            Some(text) => signed_head(&text, public, &self.path).map(Some),
        }
    }

    /// The file's signed text as it stands, to hand to a witness; `None` before the first write.
    pub fn text(&self) -> Result<Option<String>, HeadFileError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(HeadFileError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

/// The (seq, hash) a signed head's text names, once its signature checks out; `source` names
/// where it came from (the head file, a witness's copy) in the error.
pub fn signed_head(
    text: &str,
    public: &PublicKey,
    source: &Path,
) -> Result<(i64, Vec<u8>), HeadFileError> {
    let forged = || HeadFileError::Forged {
        path: source.to_path_buf(),
    };
    let (seq, hash, line, signature) = parse(text).ok_or_else(forged)?;
    if !public.verify(line.as_bytes(), &signature) {
        return Err(forged());
    }
    Ok((seq, hash))
}

/// (seq, hash, signed line, signature) of a head file's text.
fn parse(text: &str) -> Option<(i64, Vec<u8>, String, Vec<u8>)> {
    let mut parts = text.trim_end().split(' ');
    let (format, seq, hash, signature) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if format != FORMAT || parts.next().is_some() {
        return None;
    }
    let bytes = (0..hash.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hash.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some((
        seq.parse().ok()?,
        bytes,
        format!("{format} {seq} {hash}"),
        STANDARD.decode(signature).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretKey;

    #[test]
    fn the_head_moves_only_forward_and_an_edited_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("vintrova-head-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = SigningKey::from_seed(&SecretKey::generate());
        let file = HeadFile::at(dir.join("audit-head"));
        assert_eq!(file.read(&key.public()).unwrap(), None);
        file.record(&key, 7, &[7; 32]).unwrap();
        file.record(&key, 5, &[5; 32]).unwrap();
        assert_eq!(file.read(&key.public()).unwrap(), Some((7, vec![7; 32])));
        // Reopened, it still refuses to go back.
        let again = HeadFile::at(dir.join("audit-head"));
        again.record(&key, 6, &[6; 32]).unwrap();
        assert_eq!(again.read(&key.public()).unwrap(), Some((7, vec![7; 32])));
        let text = std::fs::read_to_string(dir.join("audit-head")).unwrap();
        std::fs::write(dir.join("audit-head"), text.replacen(" 7 ", " 6 ", 1)).unwrap();
        assert!(matches!(
            again.read(&key.public()),
            Err(HeadFileError::Forged { .. })
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
