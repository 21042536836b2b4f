//! The master key file: one line, `vintrova-master-key v<version> <base64 key>`, mode 0600.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::SecretKey;

const HEADER: &str = "vintrova-master-key";

/// The key-encryption key (KEK) with its version. Data keys are wrapped by it; rotation makes
/// a new version and re-wraps them.
#[derive(Clone, Debug)]
pub struct MasterKey {
    pub version: u32,
    pub(crate) key: SecretKey,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot {action} the master key file {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the master key file {path} is not a Vintrova master key (expected one line `{HEADER} v<N> <base64>`); restore it from your backup"
    )]
    Malformed { path: PathBuf },
    #[error(
        "the master key file {path} can be read by other users (mode {mode:o}); run `chmod 600 {path}`"
    )]
    TooOpen { path: PathBuf, mode: u32 },
}

impl MasterKey {
    pub fn generate(version: u32) -> Self {
        MasterKey {
            version,
            key: SecretKey::generate(),
        }
    }

    /// The next version, with fresh key material, for rotation.
    pub fn successor(&self) -> Self {
        MasterKey::generate(self.version + 1)
    }

    /// Read the key at `path`, refusing a file other users can read.
    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        let io = |action, source| KeyFileError::Io {
            action,
            path: path.to_path_buf(),
            source,
        };
        let meta = fs::metadata(path).map_err(|e| io("read", e))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::TooOpen {
                path: path.to_path_buf(),
                mode,
            });
        }
        let text = fs::read_to_string(path).map_err(|e| io("read", e))?;
        Self::parse(text.trim()).ok_or_else(|| KeyFileError::Malformed {
            path: path.to_path_buf(),
        })
    }

    fn parse(line: &str) -> Option<Self> {
        let mut parts = line.split(' ');
        if parts.next()? != HEADER {
            return None;
        }
        let version = parts.next()?.strip_prefix('v')?.parse().ok()?;
        let mut bytes = STANDARD.decode(parts.next()?).ok()?;
        if parts.next().is_some() {
            return None;
        }
        let key: [u8; 32] = bytes.as_slice().try_into().ok()?;
        zeroize::Zeroize::zeroize(&mut bytes);
        Some(MasterKey {
            version,
            key: SecretKey::from_bytes(key),
        })
    }

    /// Write the key to a new file with mode 0600 (never over an existing one) and flush it
    /// to disk before returning, so a key that encrypted anything is never lost to a crash.
    pub fn write_new(&self, path: &Path) -> Result<(), KeyFileError> {
        let io = |action, source| KeyFileError::Io {
            action,
            path: path.to_path_buf(),
            source,
        };
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| io("create", e))?;
        let line = format!(
            "{HEADER} v{} {}\n",
            self.version,
            STANDARD.encode(self.key.expose())
        );
        file.write_all(line.as_bytes())
            .map_err(|e| io("write", e))?;
        file.sync_all().map_err(|e| io("flush", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_key_reads_back_and_is_private() {
        let dir = tempfile_dir();
        let path = dir.join("master.key");
        let key = MasterKey::generate(3);
        key.write_new(&path).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let back = MasterKey::load(&path).unwrap();
        assert_eq!(back.version, 3);
        assert_eq!(back.key.expose(), key.key.expose());
        assert!(
            key.write_new(&path).is_err(),
            "an existing key file is never overwritten"
        );
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        let dir = tempfile_dir();
        let path = dir.join("master.key");
        MasterKey::generate(1).write_new(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = MasterKey::load(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn a_damaged_key_file_is_refused() {
        assert!(MasterKey::parse("vintrova-master-key v1 not-base64!").is_none());
        assert!(MasterKey::parse("something else").is_none());
        assert!(MasterKey::parse("vintrova-master-key v1 AAAA").is_none());
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vintrova-keyfile-{}", uuid::Uuid::now_v7()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }
}
