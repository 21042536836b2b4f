//! The erasure journal: the ids of people erased, kept outside the database and its backups, so
//! a restored backup can erase them again (R8.2: an erased person never comes back). It holds
//! subject ids only — pseudonymous UUIDs, never a value.

use uuid::Uuid;

pub trait ErasureJournal: Send + Sync {
    /// Record erasures durably before they happen: one write and one sync for all of them
    /// (the sweep journals a group of people at once).
    fn record(&self, subjects: &[Uuid]) -> std::io::Result<()>;
    /// Everyone ever recorded, oldest first.
    fn subjects(&self) -> std::io::Result<Vec<Uuid>>;
}
