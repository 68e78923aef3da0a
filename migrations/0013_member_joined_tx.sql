-- The event feed shows a member a workspace's events from the transaction
-- that made the membership on, never the history before it (a viewer who
-- joined today replayed the descriptions of tasks deleted last week).
-- Memberships from before this migration get 1: they see what they could
-- before. As in 0012, a constant default first keeps the ALTER from
-- rewriting the table.
ALTER TABLE "member" ADD COLUMN "joined_tx" "xid8" DEFAULT '1'::xid8 NOT NULL;--> statement-breakpoint
ALTER TABLE "member" ALTER COLUMN "joined_tx" SET DEFAULT pg_current_xact_id();
