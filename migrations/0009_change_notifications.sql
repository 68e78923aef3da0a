-- Every instance keeps some rows in memory: the user rows and session
-- credentials it has checked (src/platform/auth/auth-changes.ts) and each
-- workspace's AI settings (src/modules/ai/redaction.ts). Whatever changes or
-- removes such a row (better-auth, the admin plugin, our verbs, a
-- hand-written UPDATE) announces it on the taskpilot_changes channel when its
-- transaction commits, so every instance drops the entry within moments
-- (src/platform/db/change-feed.ts). The payload is '<kind>:<id>', never a
-- token: 'user:<user id>', 'session:<user id>' or 'workspace:<workspace id>'.
CREATE OR REPLACE FUNCTION taskpilot_notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'user' THEN
    PERFORM pg_notify('taskpilot_changes', 'user:' || OLD.id);
  ELSIF TG_TABLE_NAME = 'session' THEN
    PERFORM pg_notify('taskpilot_changes', 'session:' || OLD.user_id);
  ELSE
    PERFORM pg_notify('taskpilot_changes', 'workspace:' || OLD.id);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER user_change_notification
  AFTER UPDATE OR DELETE ON "user"
  FOR EACH ROW EXECUTE FUNCTION taskpilot_notify_change();
--> statement-breakpoint
CREATE TRIGGER session_change_notification
  AFTER UPDATE OR DELETE ON "session"
  FOR EACH ROW EXECUTE FUNCTION taskpilot_notify_change();
--> statement-breakpoint
CREATE TRIGGER workspace_change_notification
  AFTER UPDATE OR DELETE ON "organization"
  FOR EACH ROW EXECUTE FUNCTION taskpilot_notify_change();
