-- The safety of sends: idempotency keys with the first call's result, and the last send of
-- each repeat fingerprint. Both are per account, and both expire: keys after their lifetime,
-- recent sends after the repeat window.

CREATE TABLE idempotency_keys (
    account TEXT NOT NULL,
    tool TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    -- SHA-256 of the call's arguments: the same key with other arguments is refused.
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('in_flight', 'done', 'unknown')),
    -- The first call's result (JSON), once done.
    result TEXT,
    started_at INTEGER NOT NULL,
    -- When the server running the call last said it still is; a call silent for long died.
    alive_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (account, tool, idempotency_key)
) WITHOUT ROWID;

CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);

-- Live keys per account, kept in step with idempotency_keys by the triggers below, so that
-- the cap is checked without counting rows on every call.
CREATE TABLE idempotency_key_counts (
    account TEXT PRIMARY KEY,
    live INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER idempotency_keys_counted AFTER INSERT ON idempotency_keys
BEGIN
    INSERT OR IGNORE INTO idempotency_key_counts (account, live) VALUES (NEW.account, 0);
    UPDATE idempotency_key_counts SET live = live + 1 WHERE account = NEW.account;
END;

CREATE TRIGGER idempotency_keys_uncounted AFTER DELETE ON idempotency_keys
BEGIN
    UPDATE idempotency_key_counts SET live = live - 1 WHERE account = OLD.account;
END;

CREATE TABLE recent_sends (
    account TEXT NOT NULL,
    tool TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    message_id TEXT,
    -- 1 when the send's outcome is unknown (no answer came back).
    unknown INTEGER NOT NULL,
    PRIMARY KEY (account, tool, fingerprint)
) WITHOUT ROWID;

CREATE INDEX recent_sends_by_time ON recent_sends (sent_at);
