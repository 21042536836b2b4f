//! A person's hot reads — every sealed value, every event, every event's head — decoded once
//! from either driver's rows. On SQLite they run through a synchronous reader ([`Readers`])
//! that hands a statement's rows over in one hop rather than one per row (issue 24: a person's
//! 10,000 events read 3.2 times as fast); elsewhere, and on SQLite without a file, through sqlx.
//!
//! [`Readers`]: crate::sqlite::Readers

use super::*;

/// The statements: the same text for both drivers (`$1` is the person).
pub(crate) const EVENTS: &str = "SELECT id, category, key_class, sealed, source, collected_at, record_id FROM pd_events WHERE subject_id = $1 ORDER BY id";
/// The events of the classes in `$2…` (`timed` of them) each with its moment and record; one
/// row per category of every other class.
pub(crate) fn event_heads(timed: usize) -> String {
    let untimed = "SELECT DISTINCT category, key_class, CAST(NULL AS TEXT), CAST(NULL AS uuid) FROM pd_events WHERE subject_id = $1";
    if timed == 0 {
        return untimed.to_string();
    }
    let classes = numbered(2, timed);
    format!(
        "SELECT category, key_class, collected_at, record_id FROM pd_events WHERE subject_id = $1 AND key_class IN ({classes}) \
         UNION ALL {untimed} AND key_class NOT IN ({classes})"
    )
}

/// `$from, $from+1, …`: `n` numbered parameters for an `IN (…)` list.
pub(crate) fn numbered(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
pub(crate) const VALUES: &str = "SELECT field, key_class, sealed, source, collected_at FROM pd_values WHERE subject_id = $1 ORDER BY field";

/// The cells of one row, whichever driver read it.
pub(crate) trait Cells {
    /// The backend, to name it in an error.
    fn backend(&self) -> &'static str;
    fn text(&self, i: usize) -> Result<String, StoreError>;
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError>;
    fn uuid(&self, i: usize) -> Result<Uuid, StoreError>;
    fn maybe_uuid(&self, i: usize) -> Result<Option<Uuid>, StoreError>;
    fn maybe_text(&self, i: usize) -> Result<Option<String>, StoreError>;

    /// A stored time (RFC 3339 text).
    fn at(&self, i: usize) -> Result<Timestamp, StoreError> {
        self.maybe_at(i)?.ok_or_else(|| {
            StoreError::Backend(format!("{}: a stored time is missing", self.backend()))
        })
    }

    fn maybe_at(&self, i: usize) -> Result<Option<Timestamp>, StoreError> {
        let Some(text) = self.maybe_text(i)? else {
            return Ok(None);
        };
        text.parse().map(Some).map_err(|_| {
            StoreError::Backend(format!(
                "{}: a stored time `{text}` does not parse",
                self.backend()
            ))
        })
    }
}

/// A row sqlx read.
pub(crate) struct SqlxRow<'r, R>(pub &'r R);

impl<R: Row> SqlxRow<'_, R>
where
    usize: ColumnIndex<R>,
{
    fn cell<T>(&self, i: usize) -> Result<T, StoreError>
    where
        T: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    {
        self.0
            .try_get(i)
            .map_err(|e| StoreError::Backend(format!("{}: {e}", <R::Database as Database>::NAME)))
    }
}

impl<R: Row> Cells for SqlxRow<'_, R>
where
    usize: ColumnIndex<R>,
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    Uuid: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    Option<Uuid>: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    fn backend(&self) -> &'static str {
        <R::Database as Database>::NAME
    }
    fn text(&self, i: usize) -> Result<String, StoreError> {
        self.cell(i)
    }
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        self.cell(i)
    }
    fn uuid(&self, i: usize) -> Result<Uuid, StoreError> {
        self.cell(i)
    }
    fn maybe_uuid(&self, i: usize) -> Result<Option<Uuid>, StoreError> {
        self.cell(i)
    }
    fn maybe_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        self.cell(i)
    }
}

/// A row of [`EVENTS`].
pub(crate) fn sealed_event(r: &dyn Cells) -> Result<SealedEvent, StoreError> {
    Ok(SealedEvent {
        id: r.uuid(0)?,
        category: r.text(1)?,
        key_class: r.text(2)?,
        sealed: r.bytes(3)?,
        source: r.text(4)?,
        collected_at: r.at(5)?,
        record: r.maybe_uuid(6)?,
    })
}

/// A row of [`event_heads`].
pub(crate) fn event_head(r: &dyn Cells) -> Result<EventHead, StoreError> {
    Ok(EventHead {
        category: r.text(0)?,
        key_class: r.text(1)?,
        collected_at: r.maybe_at(2)?,
        record: r.maybe_uuid(3)?,
    })
}

/// A row of [`VALUES`].
pub(crate) fn sealed_value(r: &dyn Cells) -> Result<SealedValue, StoreError> {
    Ok(SealedValue {
        field: r.text(0)?,
        key_class: r.text(1)?,
        sealed: r.bytes(2)?,
        source: r.text(3)?,
        collected_at: r.at(4)?,
    })
}

/// Decodes a row of one person's hot read.
pub(crate) type Decoder<T> = fn(&dyn Cells) -> Result<T, StoreError>;

sql_impl!((impl<DB> SqlStore<DB>) {
    /// Person `id`'s (`$1`) rows of `sql`, with `words` bound after the person, decoded:
    /// through the synchronous reader where there is one.
    pub(crate) async fn person_rows<T: Send + 'static>(
        &self,
        sql: &str,
        id: Uuid,
        words: &[String],
        decode: Decoder<T>,
    ) -> Result<Vec<T>, StoreError> {
        if let Some(readers) = &self.readers {
            return readers.rows(sql, id, words, decode).await;
        }
        let rows = Self::person_query(sql, id, words)
            .fetch_all(&self.pool)
            .await
            .map_err(backend::<DB>)?;
        rows.iter().map(|r| decode(&SqlxRow(r))).collect()
    }

    /// `sql` about person `id` (`$1`) with `words` bound after the person: every statement
    /// of one person's rows, read or deleted, binds its arguments here.
    pub(crate) fn person_query(
        sql: &str,
        id: Uuid,
        words: &[String],
    ) -> sqlx::query::Query<'static, DB, <DB as Database>::Arguments> {
        words.iter().fold(
            sqlx::query::<DB>(sqlx::AssertSqlSafe(sql.to_string())).bind(id),
            |query, word| query.bind(word.clone()),
        )
    }
});
