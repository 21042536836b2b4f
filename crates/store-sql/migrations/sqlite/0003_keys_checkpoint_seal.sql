-- Issue 18: the checkpoint carries the time of the last entry it prunes and the server's
-- signature over (seq, hash, time), so no one who can write this file can forge a cut.
ALTER TABLE chain_checkpoint ADD COLUMN pruned_at TEXT;
ALTER TABLE chain_checkpoint ADD COLUMN signature BLOB;
