-- The safety of sends, in PostgreSQL (the same tables as sqlite/0001_safe_sends.sql):
-- idempotency keys with the first call's result, and the last send of each repeat fingerprint.
-- Both are per account, and both expire: keys after their lifetime, recent sends after the
-- repeat window. Times are milliseconds since the Unix epoch.

CREATE TABLE idempotency_keys (
    account TEXT NOT NULL,
    tool TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    -- SHA-256 of the call's arguments: the same key with other arguments is refused.
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('in_flight', 'done', 'unknown')),
    -- The first call's result (JSON), once done.
    result TEXT,
    started_at BIGINT NOT NULL,
    -- When the replica running the call last said it still is; a call silent for long died.
    alive_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (account, tool, idempotency_key)
);

CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);

-- Live keys per account, kept in step with idempotency_keys by the trigger below, so that the
-- cap is checked without counting rows on every call.
CREATE TABLE idempotency_key_counts (
    account TEXT PRIMARY KEY,
    live BIGINT NOT NULL
);

CREATE FUNCTION idempotency_keys_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO idempotency_key_counts (account, live) VALUES (NEW.account, 1)
        ON CONFLICT (account) DO UPDATE SET live = idempotency_key_counts.live + 1;
    ELSE
        UPDATE idempotency_key_counts SET live = live - 1 WHERE account = OLD.account;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER idempotency_keys_counted AFTER INSERT OR DELETE ON idempotency_keys
    FOR EACH ROW EXECUTE FUNCTION idempotency_keys_count();

CREATE TABLE recent_sends (
    account TEXT NOT NULL,
    tool TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    message_id TEXT,
    -- 1 when the send's outcome is unknown (no answer came back).
    unknown BIGINT NOT NULL,
    PRIMARY KEY (account, tool, fingerprint)
);

CREATE INDEX recent_sends_by_time ON recent_sends (sent_at);
