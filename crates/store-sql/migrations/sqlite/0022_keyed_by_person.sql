-- Keyed by person: the same columns and look-ups as PostgreSQL's migration of that name. SQLite is
-- one file on one machine and is never spread over shards, so its tables keep their rowid keys;
-- what the shared statements need is here: a request's code names the request's person, a
-- session is upserted by token and person, and a record's events are found within the person.
ALTER TABLE request_codes ADD COLUMN subject_id BLOB REFERENCES subjects (id);
UPDATE request_codes SET subject_id = (SELECT subject_id FROM requests WHERE requests.id = request_codes.request_id);
CREATE UNIQUE INDEX sessions_by_token_and_person ON sessions (token_digest, subject_id);
CREATE INDEX pd_events_by_record ON pd_events (subject_id, record_id);
