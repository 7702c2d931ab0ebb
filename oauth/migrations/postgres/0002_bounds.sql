-- Bounds on what anonymous requests can grow: expired rows are swept through these indexes
-- rather than by scanning, pending requests are counted per client, and a consent page counts
-- the wrong keys typed into it.

CREATE INDEX pending_requests_by_expiry ON pending_requests (expires_at);
CREATE INDEX pending_requests_by_client ON pending_requests (client_id);
CREATE INDEX authorization_codes_by_expiry ON authorization_codes (expires_at);
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);

ALTER TABLE pending_requests ADD COLUMN failed_key_checks BIGINT NOT NULL DEFAULT 0;
