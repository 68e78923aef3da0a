CREATE TABLE "ai_budget_spend" (
	"scope" text NOT NULL,
	"scope_id" uuid NOT NULL,
	"period" date NOT NULL,
	"spent_micros" bigint DEFAULT 0 NOT NULL,
	"reserved_micros" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "ai_budget_spend_scope_scope_id_period_pk" PRIMARY KEY("scope","scope_id","period"),
	CONSTRAINT "ai_budget_spend_valid" CHECK ("ai_budget_spend"."spent_micros" >= 0 and "ai_budget_spend"."reserved_micros" >= 0)
);
--> statement-breakpoint
CREATE TABLE "ai_budgets" (
	"id" uuid PRIMARY KEY NOT NULL,
	"scope" text NOT NULL,
	"scope_id" uuid NOT NULL,
	"monthly_limit_micros" bigint NOT NULL,
	"updated_by" uuid,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ai_budgets_scope_unique" UNIQUE("scope","scope_id"),
	CONSTRAINT "ai_budgets_scope_valid" CHECK ("ai_budgets"."scope" in ('user', 'workspace')),
	CONSTRAINT "ai_budgets_limit_valid" CHECK ("ai_budgets"."monthly_limit_micros" >= 0)
);
--> statement-breakpoint
CREATE TABLE "ai_cache" (
	"key" text PRIMARY KEY NOT NULL,
	"provider" text NOT NULL,
	"model" text NOT NULL,
	"answer" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ai_usage" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid,
	"workspace_id" uuid,
	"request_id" text NOT NULL,
	"feature" text NOT NULL,
	"provider" text NOT NULL,
	"model" text NOT NULL,
	"template_id" text NOT NULL,
	"template_version" integer NOT NULL,
	"input_tokens" integer DEFAULT 0 NOT NULL,
	"output_tokens" integer DEFAULT 0 NOT NULL,
	"cached_tokens" integer DEFAULT 0 NOT NULL,
	"cost_micros" bigint DEFAULT 0 NOT NULL,
	"latency_ms" integer NOT NULL,
	"cache_hit" boolean DEFAULT false NOT NULL,
	"outcome" text NOT NULL,
	"flags" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ai_usage_tokens_valid" CHECK ("ai_usage"."input_tokens" >= 0 and "ai_usage"."output_tokens" >= 0),
	CONSTRAINT "ai_usage_cost_valid" CHECK ("ai_usage"."cost_micros" >= 0),
	CONSTRAINT "ai_usage_outcome_valid" CHECK ("ai_usage"."outcome" in ('ok', 'cache_hit', 'error', 'timeout', 'rate_limited', 'invalid_output', 'aborted'))
);
--> statement-breakpoint
ALTER TABLE "ai_budgets" ADD CONSTRAINT "ai_budgets_updated_by_user_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ai_usage" ADD CONSTRAINT "ai_usage_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ai_usage" ADD CONSTRAINT "ai_usage_workspace_id_organization_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."organization"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ai_cache_expires_idx" ON "ai_cache" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "ai_usage_user_idx" ON "ai_usage" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "ai_usage_workspace_idx" ON "ai_usage" USING btree ("workspace_id","created_at");