-- "Who looked at my data": a person's audit entries, found without reading the whole log.
CREATE INDEX audit_by_subject ON audit_log (subject_id, seq);
