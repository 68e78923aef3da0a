-- A task's version moves whenever its representation does: single-task
-- ETags, If-Match and the list's ETag (src/modules/tasks/routes.ts) are
-- derived from it. Every verb bumps it itself. Four references are cleared
-- by the database instead, ON DELETE SET NULL, when their row is deleted by
-- something other than a verb (a hand-written DELETE, a future account
-- deletion): category_id, assignee_id, created_by and next_occurrence_id.
-- Such an UPDATE does not touch version, so this trigger moves it.
CREATE OR REPLACE FUNCTION taskpilot_task_version_follows_references() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := OLD.version + 1;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER tasks_version_follows_references
  BEFORE UPDATE OF category_id, assignee_id, created_by, next_occurrence_id ON tasks
  FOR EACH ROW
  WHEN (
    NEW.version = OLD.version AND (
      NEW.category_id IS DISTINCT FROM OLD.category_id
      OR NEW.assignee_id IS DISTINCT FROM OLD.assignee_id
      OR NEW.created_by IS DISTINCT FROM OLD.created_by
      OR NEW.next_occurrence_id IS DISTINCT FROM OLD.next_occurrence_id
    )
  )
  EXECUTE FUNCTION taskpilot_task_version_follows_references();
