-- Legacy (2025-06-18, 2025-11-25) MCP sessions, so that another replica, or this one after a
-- restart, can take up a session it did not open: rmcp replays the client's initialize from
-- here. The owner is the principal that opened the session; only they may continue it.
-- Rows go when the client ends the session, when unused for a day, and beyond an owner's 256
-- most recent.

CREATE TABLE mcp_sessions (
    session_id TEXT PRIMARY KEY NOT NULL,
    owner TEXT,
    -- rmcp's SessionState (the client's initialize parameters), as JSON.
    state TEXT NOT NULL,
    touched_at BIGINT NOT NULL
);

CREATE INDEX mcp_sessions_by_age ON mcp_sessions (touched_at);
CREATE INDEX mcp_sessions_by_owner ON mcp_sessions (owner, touched_at);
