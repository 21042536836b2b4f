-- The monthly digest of who looked at a person's data (issue 9): since when they asked for it;
-- NULL when they did not. It goes with the account.
ALTER TABLE accounts ADD COLUMN access_digest_since TEXT;
-- The last month (YYYY-MM) whose digest was queued, so the hourly job finds who is still due in
-- one query.
ALTER TABLE accounts ADD COLUMN access_digest_month TEXT;
