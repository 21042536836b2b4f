-- Issue 17: an audit entry keeps the use the gate granted (`purpose`) and, apart from it, the
-- purpose the caller stated. Older entries have none; their hash links without it.
ALTER TABLE audit_log ADD COLUMN stated_purpose TEXT;
