//! Backups that keep erasures erased (R7.5, R8.2).
//!
//! A backup is a consistent copy of the data and the key store, sealed in 1 MiB chunks with
//! XChaCha20-Poly1305 under a key of its own. That key lives in the backup keyring
//! (`DATA_DIR/backup-keys`), never in the backup, and is forgotten when its term runs out: from
//! then on the backup — and the copy of the key store inside it — is noise. Restoring puts the
//! copy back and then erases again everyone in the erasure journal (`DATA_DIR/erasures.journal`,
//! subject ids only, also outside the backups) and runs the retention sweep, so no one erased
//! or expired since the backup comes back.
//!
//! File: `vintrova-backup v1\n`, a length-prefixed JSON header, then chunks `[u32 length]
//! [sealed]`. Each chunk's associated data binds the header, its index and whether it is the
//! last, so a chunk edited, dropped, reordered or cut off is refused. Inside, an archive of
//! parts: the SQLite files, or each PostgreSQL table as `COPY` binary.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use vintrova_core::journal::ErasureJournal;
use vintrova_vault::SecretKey;

use crate::setup::{Backend, Config, Result, Runtime};

pub const KEYRING: &str = "backup-keys";
pub const JOURNAL: &str = "erasures.journal";
const MAGIC: &[u8] = b"vintrova-backup v1\n";
const CHUNK: usize = 1 << 20;
/// How long a backup stays restorable unless `--key-days` says otherwise.
pub const DEFAULT_KEY_DAYS: i64 = 35;

/// The erasure journal as a file of subject ids, one per line, each synced before the erasure
/// it announces.
pub struct FileJournal {
    path: PathBuf,
}

impl FileJournal {
    pub fn new(path: PathBuf) -> Self {
        FileJournal { path }
    }
}

impl ErasureJournal for FileJournal {
    fn record(&self, subjects: &[Uuid]) -> std::io::Result<()> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)?;
        let lines: String = subjects.iter().map(|s| format!("{s}\n")).collect();
        file.write_all(lines.as_bytes())?;
        file.sync_all()
    }

    fn subjects(&self) -> std::io::Result<Vec<Uuid>> {
        match fs::read_to_string(&self.path) {
            Ok(text) => Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
            Err(e) => Err(e),
        }
    }
}

/// One backup's key and when it is forgotten.
struct KeyringEntry {
    id: Uuid,
    expires_at: Timestamp,
    key: [u8; 32],
}

/// The backup keys still in force: `id expires-at key` per line, mode 0600.
struct Keyring {
    path: PathBuf,
    entries: Vec<KeyringEntry>,
}

impl Keyring {
    fn load(data_dir: &Path) -> Result<Keyring> {
        let path = data_dir.join(KEYRING);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display()).into()),
        };
        let damaged = || format!("the backup keyring {} is damaged", path.display());
        let mut entries = vec![];
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let mut parts = line.split_whitespace();
            let (Some(id), Some(expires_at), Some(key)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(damaged().into());
            };
            let key: [u8; 32] = base64::engine::general_purpose::STANDARD
                .decode(key)
                .ok()
                .and_then(|k| k.try_into().ok())
                .ok_or_else(damaged)?;
            entries.push(KeyringEntry {
                id: id.parse().map_err(|_| damaged())?,
                expires_at: expires_at.parse().map_err(|_| damaged())?,
                key,
            });
        }
        Ok(Keyring { path, entries })
    }

    /// Forget every key whose term ran out; returns how many.
    fn prune(&mut self, now: Timestamp) -> usize {
        let before = self.entries.len();
        self.entries.retain(|e| e.expires_at > now);
        before - self.entries.len()
    }

    fn save(&self) -> Result<()> {
        let tmp = self.path.with_extension("tmp");
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        for e in &self.entries {
            writeln!(
                file,
                "{} {} {}",
                e.id,
                e.expires_at,
                base64::engine::general_purpose::STANDARD.encode(e.key)
            )?;
        }
        file.sync_all()?;
        fs::rename(&tmp, &self.path)?;
        Ok(())
    }

    fn key(&self, id: Uuid) -> Option<SecretKey> {
        self.entries
            .iter()
            .find(|e| e.id == id)
            .map(|e| SecretKey::from_bytes(e.key))
    }
}

/// Forget backup keys past their term (the sweep calls this daily); returns how many.
pub fn expire_keys(data_dir: &Path, now: Timestamp) -> Result<usize> {
    let mut ring = Keyring::load(data_dir)?;
    let gone = ring.prune(now);
    if gone > 0 {
        ring.save()?;
    }
    Ok(gone)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub id: Uuid,
    pub created_at: Timestamp,
    pub backend: String,
    /// After this moment the key is forgotten and the backup cannot be restored.
    pub key_expires_at: Timestamp,
    pub vintrova: String,
}

/// One part of the archive and its size.
#[derive(Debug, Clone, Serialize)]
pub struct Part {
    pub name: String,
    pub bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    #[serde(flatten)]
    pub header: Header,
    pub parts: Vec<Part>,
}

fn chunk_aad(header: &[u8], index: u64, last: bool) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + 9);
    aad.extend_from_slice(header);
    aad.extend_from_slice(&index.to_be_bytes());
    aad.push(u8::from(last));
    aad
}

// Archive records inside the sealed stream.
const PART: u8 = 1;
const DATA: u8 = 2;
const END: u8 = 3;

/// Writes the sealed stream: buffers the archive and seals each full chunk.
struct Sealer<W: Write> {
    out: W,
    key: SecretKey,
    header: Vec<u8>,
    buf: Vec<u8>,
    index: u64,
    parts: Vec<Part>,
    progress: Progress,
}

impl<W: Write> Sealer<W> {
    fn emit(&mut self, last: bool) -> Result<()> {
        let take = self.buf.len().min(CHUNK);
        let plain: Vec<u8> = self.buf.drain(..take).collect();
        let sealed = vintrova_vault::seal_with_aad(
            &self.key,
            &chunk_aad(&self.header, self.index, last),
            &plain,
        );
        self.out.write_all(&(sealed.len() as u32).to_be_bytes())?;
        self.out.write_all(&sealed)?;
        self.index += 1;
        Ok(())
    }

    fn push(&mut self, bytes: &[u8]) -> Result<()> {
        self.buf.extend_from_slice(bytes);
        while self.buf.len() > CHUNK {
            self.emit(false)?;
        }
        Ok(())
    }

    fn part(&mut self, name: &str) -> Result<()> {
        self.parts.push(Part {
            name: name.to_string(),
            bytes: 0,
        });
        self.push(&[PART])?;
        self.push(&(name.len() as u16).to_be_bytes())?;
        self.push(name.as_bytes())
    }

    fn data(&mut self, bytes: &[u8]) -> Result<()> {
        if let Some(p) = self.parts.last_mut() {
            p.bytes += bytes.len() as u64;
        }
        self.progress.add(bytes.len() as u64);
        self.push(&[DATA])?;
        self.push(&(bytes.len() as u32).to_be_bytes())?;
        self.push(bytes)
    }

    fn finish(mut self) -> Result<(W, Vec<Part>)> {
        self.push(&[END])?;
        self.emit(true)?;
        self.progress.done();
        Ok((self.out, self.parts))
    }
}

/// Reads the sealed stream back as plain archive bytes, refusing anything altered or cut.
struct Opener<R: Read> {
    input: R,
    key: SecretKey,
    header: Vec<u8>,
    plain: Vec<u8>,
    at: usize,
    index: u64,
    ended: bool,
}

impl<R: Read> Opener<R> {
    fn refill(&mut self) -> Result<()> {
        if self.ended {
            return Err("the backup's archive ends early: the file is damaged".into());
        }
        let mut len = [0u8; 4];
        self.input
            .read_exact(&mut len)
            .map_err(|_| "the backup file is cut short: it was not copied whole")?;
        let mut sealed = vec![0u8; u32::from_be_bytes(len) as usize];
        self.input
            .read_exact(&mut sealed)
            .map_err(|_| "the backup file is cut short: it was not copied whole")?;
        let opened = [false, true].into_iter().find_map(|last| {
            vintrova_vault::open_with_aad(
                &self.key,
                &chunk_aad(&self.header, self.index, last),
                &sealed,
            )
            .map(|p| (p, last))
        });
        let (plain, last) = opened.ok_or_else(|| {
            format!(
                "chunk {} of the backup does not decrypt: the file was altered, or it is not the backup its header names",
                self.index
            )
        })?;
        self.plain = plain;
        self.at = 0;
        self.index += 1;
        self.ended = last;
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            if self.at == self.plain.len() {
                self.refill()?;
            }
            let k = (n - out.len()).min(self.plain.len() - self.at);
            out.extend_from_slice(&self.plain[self.at..self.at + k]);
            self.at += k;
        }
        Ok(out)
    }

    /// The next archive record.
    fn next(&mut self) -> Result<Record> {
        match self.take(1)?[0] {
            PART => {
                let len = u16::from_be_bytes(self.take(2)?.try_into().expect("two bytes"));
                let name = String::from_utf8(self.take(len as usize)?)
                    .map_err(|_| "a part name in the backup is not UTF-8")?;
                Ok(Record::Part(name))
            }
            DATA => {
                let len = u32::from_be_bytes(self.take(4)?.try_into().expect("four bytes"));
                Ok(Record::Data(self.take(len as usize)?))
            }
            END => {
                let mut rest = [0u8; 1];
                if self.at != self.plain.len() || !self.ended || self.input.read(&mut rest)? != 0 {
                    return Err("the backup has bytes after its end: the file was altered".into());
                }
                Ok(Record::End)
            }
            _ => Err("the backup's archive is damaged".into()),
        }
    }
}

enum Record {
    Part(String),
    Data(Vec<u8>),
    End,
}

/// Progress on stderr, every 64 MiB, for large databases.
struct Progress {
    done: u64,
    shown: u64,
    verb: &'static str,
}

impl Progress {
    fn new(verb: &'static str) -> Self {
        Progress {
            done: 0,
            shown: 0,
            verb,
        }
    }

    fn add(&mut self, n: u64) {
        self.done += n;
        if self.done - self.shown >= 64 << 20 {
            self.shown = self.done;
            say!("  {} {} MiB …", self.verb, self.done >> 20);
        }
    }

    fn done(&self) {
        say!(
            "  {} {:.1} MiB in all",
            self.verb,
            self.done as f64 / 1_048_576.0
        );
    }
}

/// Make a backup of everything into `out`, restorable for `key_days` days.
pub async fn create(rt: &Runtime, out: &Path, key_days: i64) -> Result<Summary> {
    if key_days < 1 {
        return Err("--key-days must be at least 1: a backup no key can open is no backup".into());
    }
    let now = Timestamp::now();
    let mut ring = Keyring::load(&rt.config.data_dir)?;
    ring.prune(now);
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| format!("no randomness for a backup key: {e}"))?;
    let header = Header {
        id: Uuid::now_v7(),
        created_at: now,
        backend: rt.backend.name().to_string(),
        key_expires_at: now
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .checked_add(key_days.days())?
            .timestamp(),
        vintrova: env!("CARGO_PKG_VERSION").to_string(),
    };
    ring.entries.push(KeyringEntry {
        id: header.id,
        expires_at: header.key_expires_at,
        key,
    });
    // The key is safe on disk before the backup exists, or the backup could never be opened.
    ring.save()?;
    let header_bytes = serde_json::to_vec(&header)?;
    let partial = out.with_extension("partial");
    let mut file = BufWriter::new(
        OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)
            .map_err(|e| format!("cannot write {}: {e}", partial.display()))?,
    );
    file.write_all(MAGIC)?;
    file.write_all(&(header_bytes.len() as u32).to_be_bytes())?;
    file.write_all(&header_bytes)?;
    let mut sealer = Sealer {
        out: file,
        key: SecretKey::from_bytes(key),
        header: header_bytes,
        buf: Vec::with_capacity(2 * CHUNK),
        index: 0,
        parts: vec![],
        progress: Progress::new("backed up"),
    };
    match &rt.backend {
        Backend::Sqlite(store, keys) => {
            let tmp = rt.config.data_dir.join(format!(".backup-{}", header.id));
            fs::create_dir(&tmp)?;
            let copies = [
                ("data.db", tmp.join("data.db")),
                ("keys.db", tmp.join("keys.db")),
            ];
            let copied =
                vintrova_store_sql::snapshot::sqlite_copy(store, keys, &copies[0].1, &copies[1].1)
                    .await;
            let sealed = copied.map_err(Into::into).and_then(|()| {
                for (name, path) in &copies {
                    sealer.part(name)?;
                    let mut input = BufReader::new(File::open(path)?);
                    let mut buf = vec![0u8; CHUNK];
                    loop {
                        let n = input.read(&mut buf)?;
                        if n == 0 {
                            break;
                        }
                        sealer.data(&buf[..n])?;
                    }
                }
                Ok::<_, crate::setup::Error>(())
            });
            fs::remove_dir_all(&tmp)?;
            sealed?;
        }
        Backend::Postgres(store) => {
            let mut failed: Option<crate::setup::Error> = None;
            vintrova_store_sql::snapshot::pg_export(store, |table, bytes| {
                let step = if bytes.is_empty() {
                    sealer.part(table)
                } else {
                    sealer.data(bytes)
                };
                step.map_err(|e| {
                    let message = e.to_string();
                    failed = Some(e);
                    std::io::Error::other(message)
                })
            })
            .await
            .map_err(|e| failed.take().unwrap_or_else(|| e.into()))?;
        }
    }
    let (file, parts) = sealer.finish()?;
    let file = file.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    fs::rename(&partial, out)?;
    Ok(Summary { header, parts })
}

/// Read a backup's header and open its sealed body with the key from the keyring.
fn open_backup(data_dir: &Path, file: &Path) -> Result<(Header, Opener<BufReader<File>>)> {
    let mut input = BufReader::new(
        File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?,
    );
    let mut magic = vec![0u8; MAGIC.len()];
    input.read_exact(&mut magic).ok();
    if magic != MAGIC {
        return Err(format!("{} is not a Vintrova backup", file.display()).into());
    }
    let mut len = [0u8; 4];
    input.read_exact(&mut len)?;
    let mut header_bytes = vec![0u8; u32::from_be_bytes(len) as usize];
    input.read_exact(&mut header_bytes)?;
    let header: Header =
        serde_json::from_slice(&header_bytes).map_err(|_| "the backup's header is damaged")?;
    let mut ring = Keyring::load(data_dir)?;
    if ring.prune(Timestamp::now()) > 0 {
        ring.save()?;
    }
    let key = ring.key(header.id).ok_or_else(|| {
        if header.key_expires_at <= Timestamp::now() {
            format!(
                "the key of backup {} expired on {}: backups are kept restorable for a set term (--key-days) and this one is past it, by design; restore a newer backup",
                header.id, header.key_expires_at
            )
        } else {
            format!(
                "the key of backup {} is not in {}: restore the backup keyring that was current when the backup was made (see README, Recovery)",
                header.id,
                data_dir.join(KEYRING).display()
            )
        }
    })?;
    let opener = Opener {
        input,
        key,
        header: header_bytes,
        plain: vec![],
        at: 0,
        index: 0,
        ended: false,
    };
    Ok((header, opener))
}

/// Walk the archive, handing each part's pieces to `each(part, bytes)`.
fn walk(
    opener: &mut Opener<BufReader<File>>,
    mut each: impl FnMut(&str, Vec<u8>) -> Result<()>,
) -> Result<Vec<Part>> {
    let mut parts: Vec<Part> = vec![];
    loop {
        match opener.next()? {
            Record::Part(name) => parts.push(Part { name, bytes: 0 }),
            Record::Data(bytes) => {
                let part = parts
                    .last_mut()
                    .ok_or("the backup's archive starts with data outside any part")?;
                part.bytes += bytes.len() as u64;
                each(&part.name, bytes)?;
            }
            Record::End => return Ok(parts),
        }
    }
}

/// Check that a backup opens with its key and is whole, without restoring it.
pub fn verify(data_dir: &Path, file: &Path) -> Result<Summary> {
    let (header, mut opener) = open_backup(data_dir, file)?;
    let mut progress = Progress::new("verified");
    let parts = walk(&mut opener, |_, bytes| {
        progress.add(bytes.len() as u64);
        Ok(())
    })?;
    progress.done();
    Ok(Summary { header, parts })
}

#[derive(Debug, Serialize)]
pub struct Restored {
    pub backup: Summary,
    /// People erased since the backup (from the journal), erased again.
    pub erasures_reapplied: u64,
    /// Erasures cut short in the backup's copy, carried to their end.
    pub erasures_finished: u64,
    /// There was no erasure journal: people erased since the backup may be back.
    pub journal_missing: bool,
    pub sweep: vintrova_core::sweep::SweepReceipt,
}

/// Put a backup back into the configured data directory or database, then erase again everyone
/// in the erasure journal and run the retention sweep. Run it with the server stopped.
pub async fn restore(config: &Config, file: &Path) -> Result<Restored> {
    let checked = verify(&config.data_dir, file)?;
    let _exclusive = crate::setup::serving_lock(&config.data_dir, true)?;
    let _exclusive_in_database = match config.sqlite_files() {
        Some(_) => None,
        None => {
            let (_, _, backend) = crate::setup::open_backend(config).await?;
            crate::setup::database_serving_lock(&backend, true).await?
        }
    };
    let (header, mut opener) = open_backup(&config.data_dir, file)?;
    // From here until the restored state is ready nothing else may open the data: a crash
    // leaves this mark, and only running the restore again removes it.
    let underway = config.data_dir.join(crate::setup::RESTORE_UNDERWAY);
    write_synced(
        &underway,
        &format!(
            "backup {} restored from {} at {}",
            checked.header.id,
            file.display(),
            jiff::Timestamp::now()
        ),
    )?;
    match config.sqlite_files() {
        Some((data_file, keys_file)) => {
            if header.backend != "sqlite" {
                return Err(format!(
                    "this backup was made from {}; restore it with --database-url pointing at that kind of database",
                    header.backend
                )
                .into());
            }
            let staged = |name: &str| config.data_dir.join(format!(".restore-{name}"));
            let mut files: Vec<(String, File)> = vec![];
            walk(&mut opener, |part, bytes| {
                if files.last().is_none_or(|(name, _)| name != part) {
                    files.push((part.to_string(), File::create(staged(part))?));
                }
                files.last_mut().expect("just pushed").1.write_all(&bytes)?;
                Ok(())
            })?;
            for (_, f) in &files {
                f.sync_all()?;
            }
            for (part, target) in [("data.db", &data_file), ("keys.db", &keys_file)] {
                for suffix in ["-wal", "-shm"] {
                    let side = PathBuf::from(format!("{}{suffix}", target.display()));
                    if side.exists() {
                        fs::remove_file(side)?;
                    }
                }
                fs::rename(staged(part), target)?;
            }
        }
        None => {
            if header.backend != "postgres" {
                return Err(format!(
                    "this backup was made from {}; restore it into a data directory without --database-url",
                    header.backend
                )
                .into());
            }
            let (_, _, backend) = crate::setup::open_backend(config).await?;
            let Backend::Postgres(store) = backend else {
                return Err("the configured database is not PostgreSQL".into());
            };
            let mut tables: Vec<(String, Vec<Vec<u8>>)> = vec![];
            walk(&mut opener, |part, bytes| {
                if tables.last().is_none_or(|(name, _)| name != part) {
                    tables.push((part.to_string(), vec![]));
                }
                tables.last_mut().expect("just pushed").1.push(bytes);
                Ok(())
            })?;
            let mut import = vintrova_store_sql::snapshot::PgImport::begin(&store).await?;
            for (table, pieces) in tables {
                import.table(&table, pieces).await?;
            }
            import.commit().await?;
        }
    }
    // The restored log ends where the backup's did. The head recorded since names entries the
    // restore rolled back: it is kept beside as evidence, and the head starts from the restored
    // log.
    let head = config.audit_head_path();
    if head.exists() {
        let stamp = jiff::Timestamp::now().as_second();
        fs::rename(
            &head,
            head.with_extension(format!("before-restore-{stamp}")),
        )?;
    }
    vintrova_core::crash::point(vintrova_core::crash::RESTORE_COPY_IN_PLACE);
    let rt = crate::setup::open_unchecked(
        config,
        std::sync::Arc::new(vintrova_core::clock::SystemClock),
    )
    .await?;
    let actor = vintrova_core::Actor::new("system", "restore");
    rt.app.audit_restore(&actor).await?;
    let erasures_finished = rt.app.finish_erasures().await?;
    let journal_path = config.erasure_journal_path();
    let journal_missing = !journal_path.exists();
    if journal_missing {
        say!(
            "WARNING: there is no erasure journal at {}: people erased since this backup was made cannot be erased again and may be back. If the journal was moved, put it back and run the restore again.",
            journal_path.display()
        );
    }
    let journal = FileJournal::new(journal_path);
    let mut erasures_reapplied = 0;
    for subject in journal.subjects()? {
        if rt.app.is_known(subject).await? {
            rt.app.erase(&actor, subject).await?;
            erasures_reapplied += 1;
        }
    }
    vintrova_core::crash::point(vintrova_core::crash::RESTORE_ERASURES_REAPPLIED);
    let sweep = rt
        .app
        .sweep(&actor, vintrova_core::sweep::SweepOptions::default())
        .await?;
    fs::remove_file(&underway)?;
    Ok(Restored {
        backup: checked,
        erasures_reapplied,
        erasures_finished,
        journal_missing,
        sweep,
    })
}

/// Write `text` to `path` and sync it, so it is there after a crash.
fn write_synced(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keyring_forgets_keys_whose_term_ran_out() {
        let dir = tempfile::tempdir().unwrap();
        let now: Timestamp = "2026-11-26T00:00:00Z".parse().unwrap();
        let mut ring = Keyring::load(dir.path()).unwrap();
        for (days, byte) in [(-1, 1u8), (10, 2u8)] {
            ring.entries.push(KeyringEntry {
                id: Uuid::now_v7(),
                expires_at: now + (days * 24).hours(),
                key: [byte; 32],
            });
        }
        let (old, fresh) = (ring.entries[0].id, ring.entries[1].id);
        ring.save().unwrap();
        assert_eq!(expire_keys(dir.path(), now).unwrap(), 1);
        let ring = Keyring::load(dir.path()).unwrap();
        assert!(
            ring.key(old).is_none(),
            "the expired key is gone from the file"
        );
        assert!(ring.key(fresh).is_some());
        let text = fs::read_to_string(dir.path().join(KEYRING)).unwrap();
        assert!(!text.contains(&old.to_string()));
    }
}
