-- How many messages each team holds per inbox, kept by triggers, so that a find's `total`
-- without a date range is a sum over the team's few inboxes instead of a count over its whole
-- history: a page costs the same at 1,000 messages and at 100,000.
CREATE TABLE message_counts (
    team_id TEXT NOT NULL,
    inbox_id TEXT NOT NULL,
    messages INTEGER NOT NULL,
    PRIMARY KEY (team_id, inbox_id)
) WITHOUT ROWID;

INSERT INTO message_counts (team_id, inbox_id, messages)
    SELECT team_id, inbox_id, COUNT(*) FROM messages GROUP BY team_id, inbox_id;

CREATE TRIGGER messages_counted_in AFTER INSERT ON messages BEGIN
    INSERT INTO message_counts (team_id, inbox_id, messages) VALUES (NEW.team_id, NEW.inbox_id, 1)
        ON CONFLICT (team_id, inbox_id) DO UPDATE SET messages = messages + 1;
END;

CREATE TRIGGER messages_counted_out AFTER DELETE ON messages BEGIN
    UPDATE message_counts SET messages = messages - 1 WHERE team_id = OLD.team_id AND inbox_id = OLD.inbox_id;
END;

CREATE TRIGGER messages_counted_moved AFTER UPDATE OF team_id, inbox_id ON messages BEGIN
    UPDATE message_counts SET messages = messages - 1 WHERE team_id = OLD.team_id AND inbox_id = OLD.inbox_id;
    INSERT INTO message_counts (team_id, inbox_id, messages) VALUES (NEW.team_id, NEW.inbox_id, 1)
        ON CONFLICT (team_id, inbox_id) DO UPDATE SET messages = messages + 1;
END;
