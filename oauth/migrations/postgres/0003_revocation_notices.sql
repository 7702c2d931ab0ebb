-- Every replica keeps the grants revoked recently in memory, so that it refuses their access
-- tokens without a query. A revocation on one replica is published here, at commit, for the
-- others to hear (LISTEN clerk_mcp_revoked_grants).
CREATE FUNCTION notify_revoked_grant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('clerk_mcp_revoked_grants', NEW.grant_id);
    RETURN NEW;
END;
$$;

CREATE TRIGGER grants_revoked AFTER UPDATE OF revoked_at ON grants
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION notify_revoked_grant();
