-- The list indexes get priority_rank as their last column, so a priority
-- filter (sent as a rank range, modules/tasks/list.ts) is checked in the
-- index instead of on every row read. The rebuild blocks writes to tasks
-- while it runs (about 2 s per index at 1M tasks on the bench machine).
DROP INDEX "tasks_list_position_idx";--> statement-breakpoint
DROP INDEX "tasks_list_due_at_idx";--> statement-breakpoint
DROP INDEX "tasks_list_created_at_idx";--> statement-breakpoint
DROP INDEX "tasks_list_updated_at_idx";--> statement-breakpoint
DROP INDEX "tasks_list_title_idx";--> statement-breakpoint
CREATE INDEX "tasks_list_position_idx" ON "tasks" USING btree ("workspace_id","status","position","id","priority_rank") WHERE "tasks"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "tasks_list_due_at_idx" ON "tasks" USING btree ("workspace_id","status","due_at","id","priority_rank") WHERE "tasks"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "tasks_list_created_at_idx" ON "tasks" USING btree ("workspace_id","status","created_at","id","priority_rank") WHERE "tasks"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "tasks_list_updated_at_idx" ON "tasks" USING btree ("workspace_id","status","updated_at","id","priority_rank") WHERE "tasks"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "tasks_list_title_idx" ON "tasks" USING btree ("workspace_id","status","title","id","priority_rank") WHERE "tasks"."deleted_at" is null;