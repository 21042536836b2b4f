-- One address, one person. An address another person already held could be taken by
-- rectification before this index; the older holder keeps it (look-ups always returned the
-- oldest), and the younger person's index entry for it goes — their sealed value stays, shown
-- in their copy, and they can no longer be found or signed in by an address that is not theirs.
DELETE FROM blind_index
WHERE field = 'contact.email'
  AND EXISTS (
    SELECT 1 FROM blind_index older
    JOIN subjects so ON so.id = older.subject_id
    JOIN subjects s ON s.id = blind_index.subject_id
    WHERE older.field = 'contact.email'
      AND older.digest = blind_index.digest
      AND older.subject_id <> blind_index.subject_id
      AND (so.created_at < s.created_at
           OR (so.created_at = s.created_at AND older.subject_id < blind_index.subject_id))
  );
CREATE UNIQUE INDEX blind_index_one_address ON blind_index (digest) WHERE field = 'contact.email';
