CREATE TABLE "poll_locks" (
	"source" text PRIMARY KEY NOT NULL,
	"token" uuid,
	"hostname" text NOT NULL,
	"pid" integer NOT NULL,
	"locked_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "poll_runs" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "poll_runs_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"source" text NOT NULL,
	"triggered_by" text NOT NULL,
	"hostname" text NOT NULL,
	"pid" integer NOT NULL,
	"lock_token" uuid NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"listed" integer DEFAULT 0 NOT NULL,
	"stored" integer DEFAULT 0 NOT NULL,
	"duplicates" integer DEFAULT 0 NOT NULL,
	"acknowledged" integer DEFAULT 0 NOT NULL,
	"errors" integer DEFAULT 0 NOT NULL,
	"error_details" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"error" text,
	CONSTRAINT "poll_runs_status_check" CHECK ("poll_runs"."status" in ('running', 'succeeded', 'partial', 'failed', 'aborted', 'abandoned'))
);
--> statement-breakpoint
CREATE INDEX "poll_runs_source_id_idx" ON "poll_runs" USING btree ("source","id");--> statement-breakpoint
CREATE INDEX "poll_runs_running_idx" ON "poll_runs" USING btree ("source") WHERE "poll_runs"."status" = 'running';