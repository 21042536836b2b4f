-- The language a person asked to be written in (one of the policy's locales): chosen at
-- registration or in the cabinet, or the language their letter was written in. Every message to
-- them uses it; it goes with the person.
CREATE TABLE languages (
    subject_id BLOB PRIMARY KEY NOT NULL REFERENCES subjects (id),
    locale TEXT NOT NULL,
    chosen_at TEXT NOT NULL
) STRICT;
