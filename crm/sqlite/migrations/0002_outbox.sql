-- 0002: the outbox of posts that channel workers deliver, and links from
-- channel-side ids (a Slack thread) to conversations. Conventions as in
-- 0001. Both hang off conversations(id) through ON DELETE CASCADE, so
-- erasing a customer takes them with the conversations.

-- Outbox ids are AUTOINCREMENT, never handed out again: they order the
-- outbox (oldest first), and a worker holding the id of an item erased
-- meanwhile must not mark another item sent.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Enqueueing is idempotent on key.
    key             TEXT    NOT NULL UNIQUE,
    channel         TEXT    NOT NULL,
    -- NULL: the item belongs to no conversation.
    conversation_id INTEGER REFERENCES conversations (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL DEFAULT '',
    payload         BLOB    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         INTEGER NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    result          TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
-- DueOutbox: a channel's pending items that are due; OutboxDepth.
CREATE INDEX outbox_due ON outbox (channel, state, next_at);
-- DueOutbox's ordering rule: a conversation's oldest pending item on a
-- channel is the first entry under (conversation_id, channel, 'pending').
-- It also serves the erasure cascade, which deletes by conversation_id.
CREATE INDEX outbox_conversation ON outbox (conversation_id, channel, state, id);

-- A conversation has one value per kind (the primary key, which also
-- serves ConversationLinks and the cascade); a value names one
-- conversation (the UNIQUE, which serves ConversationByLink).
CREATE TABLE conversation_links (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL,
    value           TEXT    NOT NULL,
    PRIMARY KEY (conversation_id, kind),
    UNIQUE (kind, value)
);
