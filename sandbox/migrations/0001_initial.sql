-- The sandbox's data: teams and their keys, inboxes, contacts and lists, messages,
-- campaigns and users. Times are RFC 3339 UTC strings with milliseconds, which sort as text.

CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created TEXT NOT NULL
);

-- Only a SHA-256 of each key is kept; the key itself is shown once, when it is made.
CREATE TABLE api_keys (
    key_sha256 TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id),
    created TEXT NOT NULL
);

CREATE TABLE inboxes (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id),
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    provider TEXT NOT NULL,
    UNIQUE (team_id, phone)
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id),
    email TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    role TEXT NOT NULL,
    created TEXT NOT NULL,
    UNIQUE (team_id, email)
);

CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id),
    created_by_user_id TEXT,
    name TEXT,
    phone TEXT,
    email TEXT,
    opt_out INTEGER NOT NULL DEFAULT 0,
    public INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE INDEX contacts_by_phone ON contacts (team_id, phone);

CREATE TABLE contact_lists (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams(id),
    name TEXT NOT NULL,
    UNIQUE (team_id, name)
);

CREATE TABLE contact_list_members (
    list_id TEXT NOT NULL REFERENCES contact_lists(id),
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    PRIMARY KEY (list_id, contact_id)
);

CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id TEXT NOT NULL REFERENCES teams(id),
    user_id TEXT,
    inbox_id TEXT NOT NULL REFERENCES inboxes(id),
    list_id TEXT NOT NULL REFERENCES contact_lists(id),
    name TEXT,
    body TEXT NOT NULL,
    media_urls TEXT NOT NULL,
    provider TEXT NOT NULL,
    status TEXT NOT NULL,
    recipient_count INTEGER,
    send_at TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    error TEXT
);
CREATE INDEX campaigns_due ON campaigns (status, send_at);

-- A message's status is a function of time: `sending` until sent_at, `sent` until done_at,
-- then final_status. Storing the times instead of the status makes the lifecycle survive
-- restarts without a worker. fixed_json holds the members of the message's JSON that never
-- change, already serialized (without braces), and final_fields_json what is added once it
-- is final (the error of a failed message), so that reads only concatenate text.
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id TEXT NOT NULL REFERENCES teams(id),
    inbox_id TEXT NOT NULL REFERENCES inboxes(id),
    conversation_id TEXT NOT NULL,
    campaign_id INTEGER REFERENCES campaigns(id),
    inbound INTEGER NOT NULL,
    media_urls TEXT NOT NULL,
    provider TEXT NOT NULL,
    created TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    done_at TEXT NOT NULL,
    final_status TEXT NOT NULL,
    fixed_json TEXT NOT NULL,
    final_fields_json TEXT NOT NULL
);
CREATE INDEX messages_by_time ON messages (team_id, created DESC, id DESC);
CREATE INDEX messages_by_inbox ON messages (team_id, inbox_id, created DESC);
