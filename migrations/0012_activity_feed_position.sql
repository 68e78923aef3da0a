-- The event feed (GET /v1/events) orders activity by the writing
-- transaction's id, then the event id, and hands out an event only once no
-- transaction that could still write an earlier one is running (see
-- src/modules/events/feed.ts). Rows written before this migration get 1:
-- they sort before every later event. Adding the column with a constant
-- default and only then making it pg_current_xact_id() keeps the ALTER from
-- rewriting the table.
ALTER TABLE "activity_events" ADD COLUMN "tx" "xid8" DEFAULT '1'::xid8 NOT NULL;--> statement-breakpoint
ALTER TABLE "activity_events" ALTER COLUMN "tx" SET DEFAULT pg_current_xact_id();--> statement-breakpoint
-- No query lists a workspace's activity by time; the feed's index serves
-- the foreign key's cascade as well.
DROP INDEX "activity_workspace_idx";--> statement-breakpoint
CREATE INDEX "activity_workspace_feed_idx" ON "activity_events" USING btree ("workspace_id","tx","id");--> statement-breakpoint
CREATE INDEX "activity_feed_idx" ON "activity_events" USING btree ("tx","id");--> statement-breakpoint
CREATE INDEX "activity_personal_feed_idx" ON "activity_events" USING btree ("actor_id","tx","id") WHERE "activity_events"."workspace_id" is null;
