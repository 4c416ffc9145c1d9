-- 0003: retention. A message's words can expire (crm.ExpireMode): expiry
-- is its level, 0 kept, 1 masked (redact), 2 deleted, and expired_at
-- when that happened (NULL while kept). Adding columns with a constant
-- default rewrites nothing, so the migration is quick on a large file.
ALTER TABLE messages ADD COLUMN expiry INTEGER NOT NULL DEFAULT 0 CHECK (expiry IN (0, 1, 2));
ALTER TABLE messages ADD COLUMN expired_at INTEGER;

-- Retention's work list: the messages of one level created before the
-- cut-off are one range, oldest first, and a message leaves the range as
-- it expires, so each run reads only what it changes. New messages land
-- at the end of level 0, next to each other, which keeps the cost to
-- inserts small.
CREATE INDEX messages_expiry ON messages (expiry, created_at, id);
