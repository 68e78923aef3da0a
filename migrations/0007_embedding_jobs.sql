CREATE TABLE "embedding_jobs" (
	"task_id" uuid PRIMARY KEY NOT NULL,
	"requested_by" uuid,
	"generation" integer DEFAULT 1 NOT NULL,
	"run_after" timestamp with time zone NOT NULL,
	"locked_until" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	CONSTRAINT "embedding_jobs_counters_valid" CHECK ("embedding_jobs"."attempts" >= 0 and "embedding_jobs"."generation" > 0)
);
--> statement-breakpoint
ALTER TABLE "embedding_jobs" ADD CONSTRAINT "embedding_jobs_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "embedding_jobs" ADD CONSTRAINT "embedding_jobs_requested_by_user_id_fk" FOREIGN KEY ("requested_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "embedding_jobs_due_idx" ON "embedding_jobs" USING btree ("run_after");