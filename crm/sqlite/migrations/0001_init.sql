-- 0001: Parley's CRM schema. Shipped migrations are never edited: change
-- the schema with a new numbered file.
--
-- Conventions. Times are INTEGER Unix nanoseconds in UTC; optional times
-- are NULL when unset. Lists and maps (slots, alternatives, entities,
-- quick replies, metrics) are JSON text, NULL when empty. Optional
-- references and optional unique keys (a message's channel id, an
-- order's ref) are NULL when unset, so that UNIQUE ignores them.
-- Everything about a customer hangs off customers(id) through ON DELETE
-- CASCADE, so erasing a customer is one DELETE. Ids of customers,
-- conversations and staff are AUTOINCREMENT: an erased customer's ids are
-- never handed to someone else.

CREATE TABLE customers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL DEFAULT '',
    email      TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX customers_created ON customers (created_at);

CREATE TABLE external_ids (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    UNIQUE (kind, value)
);
CREATE INDEX external_ids_customer ON external_ids (customer_id, id);

CREATE TABLE staff (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL,
    -- email_key is crm.FoldEmail(email): staff emails are case-insensitive.
    email_key     TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL CHECK (role IN ('agent', 'analyst', 'admin')),
    password_hash TEXT    NOT NULL DEFAULT '',
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    staff_id   INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    csrf       TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_staff ON sessions (staff_id);

CREATE TABLE conversations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    channel     TEXT    NOT NULL,
    ref         TEXT    NOT NULL DEFAULT '',
    state       TEXT    NOT NULL CHECK (state IN ('bot', 'escalated', 'assigned', 'resolved')),
    assignee_id INTEGER REFERENCES staff (id),
    slots       TEXT,
    fallbacks   INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- Finding a customer's latest conversation on a channel with a ref, and
-- listing a customer's conversations.
CREATE INDEX conversations_customer ON conversations (customer_id, channel, ref, id);
-- Listings, newest updates first. Every logged message moves updated_at,
-- so each index here costs every interaction; the ones for the staff's
-- queues (waiting for or with a person) are partial, holding only those
-- conversations, a few at any time. Listing by state bot or resolved
-- walks conversations_updated, where most rows match.
CREATE INDEX conversations_updated ON conversations (updated_at, id);
CREATE INDEX conversations_waiting ON conversations (updated_at, id) WHERE state IN ('escalated', 'assigned');
CREATE INDEX conversations_assignee ON conversations (assignee_id, updated_at, id) WHERE assignee_id IS NOT NULL;

-- Message ids are plain rowids: AUTOINCREMENT costs every insert an
-- update of sqlite_sequence, and messages are the hot path. An id can
-- come back only after the newest messages were erased with their
-- customer, and nothing outside the CRM keys on message ids.
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- reply_to is the customer message whose interaction logged this reply.
    reply_to        INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    direction       TEXT    NOT NULL CHECK (direction IN ('in', 'bot', 'agent', 'note')),
    author_id       INTEGER REFERENCES staff (id),
    -- channel is the conversation's, copied so that UNIQUE can cover it.
    channel         TEXT    NOT NULL,
    channel_msg_id  TEXT,
    text            TEXT    NOT NULL,
    intent          TEXT    NOT NULL DEFAULT '',
    confidence      REAL    NOT NULL DEFAULT 0,
    out_of_scope    INTEGER NOT NULL DEFAULT 0,
    alternatives    TEXT,
    sentiment       TEXT    NOT NULL DEFAULT '',
    sentiment_score REAL    NOT NULL DEFAULT 0,
    entities        TEXT,
    model_version   TEXT    NOT NULL DEFAULT '',
    action          TEXT    NOT NULL DEFAULT '',
    quick_replies   TEXT,
    created_at      INTEGER NOT NULL,
    -- Logging is idempotent on the channel's message id.
    UNIQUE (channel, channel_msg_id)
);
-- A conversation's messages in order; also the scan Stats makes.
CREATE INDEX messages_conversation ON messages (conversation_id, created_at, id);
-- An interaction's replies, for redeliveries (and the cascade).
CREATE INDEX messages_reply_to ON messages (reply_to) WHERE reply_to IS NOT NULL;
-- The analysts' inbox: customer messages, newest first.
CREATE INDEX messages_inbox ON messages (created_at, id) WHERE direction = 'in';

CREATE TABLE escalations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- message_id is the customer message whose interaction opened it.
    message_id      INTEGER REFERENCES messages (id) ON DELETE SET NULL,
    reason          TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('open', 'assigned', 'resolved')),
    assignee_id     INTEGER REFERENCES staff (id),
    resolution      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    assigned_at     INTEGER,
    resolved_at     INTEGER
);
CREATE INDEX escalations_conversation ON escalations (conversation_id, id);
-- At most one open escalation per conversation.
CREATE UNIQUE INDEX escalations_open ON escalations (conversation_id) WHERE status <> 'resolved';
CREATE INDEX escalations_message ON escalations (message_id) WHERE message_id IS NOT NULL;

CREATE TABLE orders (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    ref         TEXT UNIQUE,
    item        TEXT    NOT NULL DEFAULT '',
    category    TEXT    NOT NULL DEFAULT '',
    amount      REAL    NOT NULL DEFAULT 0,
    currency    TEXT    NOT NULL DEFAULT '',
    kind        TEXT    NOT NULL CHECK (kind IN ('purchase', 'signup')),
    created_at  INTEGER NOT NULL
);
CREATE INDEX orders_customer ON orders (customer_id, created_at, id);
CREATE INDEX orders_created ON orders (created_at);

CREATE TABLE labels (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    text       TEXT    NOT NULL,
    intent     TEXT    NOT NULL,
    staff_id   INTEGER REFERENCES staff (id),
    created_at INTEGER NOT NULL
);
CREATE INDEX labels_message ON labels (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX labels_created ON labels (created_at, id);

CREATE TABLE model_versions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    data_hash   TEXT    NOT NULL DEFAULT '',
    metrics     TEXT,
    artifact    BLOB,
    notes       TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    promoted_at INTEGER,
    active      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (kind, version)
);
CREATE INDEX model_versions_kind ON model_versions (kind, created_at, id);
-- At most one active version per kind.
CREATE UNIQUE INDEX model_versions_active ON model_versions (kind) WHERE active = 1;

CREATE TABLE segment_assignments (
    customer_id INTEGER PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    segment     TEXT NOT NULL,
    profile     TEXT NOT NULL DEFAULT '',
    x           REAL NOT NULL DEFAULT 0,
    y           REAL NOT NULL DEFAULT 0
);

CREATE TABLE lead_scores (
    customer_id INTEGER PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    score       REAL    NOT NULL,
    scored_at   INTEGER NOT NULL
);
