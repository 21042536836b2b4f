-- The monthly digest of who looked at a person's data (issue 9): since when they asked for it;
-- NULL when they did not. It goes with the account.
ALTER TABLE accounts ADD COLUMN access_digest_since TEXT;
