//! Read-only connections to the data file through a synchronous driver (rusqlite), run on
//! tokio's blocking pool: a statement costs one hop between threads, where sqlx hands every
//! row across from its connection's thread. Used for a person's hot reads only
//! ([`crate::cells`]); every write, and every read inside a write, stays on sqlx.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use uuid::Uuid;
use vintrova_core::store::StoreError;

use crate::cells::{Cells, Decoder};

/// Connections kept open between reads; more are opened when more read at once, and closed
/// after (each may hold up to 32 MiB of page cache).
const KEPT: usize = 4;

pub struct Readers {
    file: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    /// Readers of the SQLite database at `file` (which must exist: the store opened it).
    pub(crate) fn new(file: PathBuf) -> Arc<Readers> {
        Arc::new(Readers {
            file,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// `id`'s rows of `sql` (`$1`, then `words`), decoded, on a connection of the blocking pool.
    pub(crate) async fn rows<T: Send + 'static>(
        self: &Arc<Self>,
        sql: &str,
        id: Uuid,
        words: &[String],
        decode: Decoder<T>,
    ) -> Result<Vec<T>, StoreError> {
        let readers = self.clone();
        let (sql, words) = (sql.to_string(), words.to_vec());
        tokio::task::spawn_blocking(move || {
            let connection = readers.take()?;
            let rows = read(&connection, &sql, id, &words, decode);
            readers.give_back(connection);
            rows
        })
        .await
        .map_err(|e| failed(format!("a read stopped: {e}")))?
    }

    fn take(&self) -> Result<Connection, StoreError> {
        if let Some(connection) = self.idle.lock().expect("readers' list").pop() {
            return Ok(connection);
        }
        let connection = Connection::open_with_flags(
            &self.file,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(failed)?;
        connection
            .busy_timeout(Duration::from_secs(10))
            .map_err(failed)?;
        // The same page cache as the store's other connections (see `connect_options`).
        connection
            .pragma_update(None, "cache_size", -32768)
            .map_err(failed)?;
        Ok(connection)
    }

    fn give_back(&self, connection: Connection) {
        let mut idle = self.idle.lock().expect("readers' list");
        if idle.len() < KEPT {
            idle.push(connection);
        }
    }
}

fn read<T>(
    connection: &Connection,
    sql: &str,
    id: Uuid,
    words: &[String],
    decode: Decoder<T>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = connection.prepare_cached(sql).map_err(failed)?;
    statement
        .raw_bind_parameter(1, id.as_bytes().as_slice())
        .map_err(failed)?;
    for (i, word) in words.iter().enumerate() {
        statement
            .raw_bind_parameter(i + 2, word.as_str())
            .map_err(failed)?;
    }
    let mut rows = statement.raw_query();
    let mut decoded = Vec::new();
    while let Some(row) = rows.next().map_err(failed)? {
        decoded.push(decode(&Cell(row))?);
    }
    Ok(decoded)
}

/// A row rusqlite read; ids are 16-byte blobs, as sqlx stores them.
struct Cell<'a, 'r>(&'a rusqlite::Row<'r>);

impl Cells for Cell<'_, '_> {
    fn backend(&self) -> &'static str {
        "SQLite"
    }
    fn text(&self, i: usize) -> Result<String, StoreError> {
        self.0.get(i).map_err(failed)
    }
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        self.0.get(i).map_err(failed)
    }
    fn uuid(&self, i: usize) -> Result<Uuid, StoreError> {
        id_of(
            self.0
                .get_ref(i)
                .map_err(failed)?
                .as_blob()
                .map_err(failed)?,
        )
    }
    fn maybe_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        self.0.get(i).map_err(failed)
    }
    fn maybe_uuid(&self, i: usize) -> Result<Option<Uuid>, StoreError> {
        match self
            .0
            .get_ref(i)
            .map_err(failed)?
            .as_blob_or_null()
            .map_err(failed)?
        {
            Some(bytes) => id_of(bytes).map(Some),
            None => Ok(None),
        }
    }
}

fn id_of(bytes: &[u8]) -> Result<Uuid, StoreError> {
    Uuid::from_slice(bytes).map_err(|_| failed("an id is not 16 bytes"))
}

/// rusqlite's messages name statements and columns, never bound values.
fn failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("SQLite: {e}"))
}
