-- What a dropped month of events took of each person (PostgreSQL files events by month; SQLite
-- keeps one table and deletes them row by row, so here it stays empty). The sweep reads it
-- with the rest of a person's inventory on either backend.
CREATE TABLE expired_by_month (
    subject_id BLOB NOT NULL REFERENCES subjects (id),
    month TEXT NOT NULL,
    category TEXT NOT NULL,
    key_class TEXT NOT NULL,
    events INTEGER NOT NULL,
    PRIMARY KEY (subject_id, month, category, key_class)
);
