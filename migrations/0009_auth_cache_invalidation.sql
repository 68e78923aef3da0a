-- Every instance keeps the user rows and session credentials it has checked
-- in memory (src/platform/auth/auth-cache.ts). Whatever changes or removes a
-- user or a session (better-auth, the admin plugin, our verbs, a hand-written
-- UPDATE) announces it on the taskpilot_auth channel when its transaction
-- commits, so every instance drops the entry within moments. The payload is
-- an id, never a token: 'user:<user id>' or 'session:<user id>'.
CREATE OR REPLACE FUNCTION taskpilot_notify_auth_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'user' THEN
    PERFORM pg_notify('taskpilot_auth', 'user:' || OLD.id);
  ELSE
    PERFORM pg_notify('taskpilot_auth', 'session:' || OLD.user_id);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER user_auth_cache_invalidation
  AFTER UPDATE OR DELETE ON "user"
  FOR EACH ROW EXECUTE FUNCTION taskpilot_notify_auth_change();
--> statement-breakpoint
CREATE TRIGGER session_auth_cache_invalidation
  AFTER UPDATE OR DELETE ON "session"
  FOR EACH ROW EXECUTE FUNCTION taskpilot_notify_auth_change();
