CREATE TABLE "processing_log" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "processing_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"event_id" bigint NOT NULL,
	"attempt" integer NOT NULL,
	"worker" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"outcome" text DEFAULT 'running' NOT NULL,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "system_log" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "system_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"occurred_at" timestamp with time zone NOT NULL,
	"category" text NOT NULL,
	"event_type" text NOT NULL,
	"realm" text,
	"client_id" text,
	"user_id" text,
	"ip_address" text,
	"error" text,
	"details" jsonb,
	"source_event_id" bigint,
	"logged_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "system_log_source_event_key" UNIQUE("source_event_id")
);
--> statement-breakpoint
CREATE TABLE "webhook_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "webhook_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"source" text NOT NULL,
	"webhook_id" text NOT NULL,
	"account" text,
	"topic" text NOT NULL,
	"status" text DEFAULT 'received' NOT NULL,
	"body" "bytea" NOT NULL,
	"headers" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer DEFAULT 8 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_by" text,
	"locked_at" timestamp with time zone,
	"claim_token" uuid,
	"last_error" text,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"processed_at" timestamp with time zone,
	CONSTRAINT "webhook_events_source_webhook_id_key" UNIQUE("source","webhook_id"),
	CONSTRAINT "webhook_events_status_check" CHECK ("webhook_events"."status" in ('received', 'processing', 'completed', 'failed'))
);
--> statement-breakpoint
ALTER TABLE "processing_log" ADD CONSTRAINT "processing_log_event_id_webhook_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."webhook_events"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "system_log" ADD CONSTRAINT "system_log_source_event_id_webhook_events_id_fk" FOREIGN KEY ("source_event_id") REFERENCES "public"."webhook_events"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "processing_log_event_idx" ON "processing_log" USING btree ("event_id","id");--> statement-breakpoint
CREATE INDEX "system_log_occurred_idx" ON "system_log" USING btree ("occurred_at");--> statement-breakpoint
CREATE INDEX "webhook_events_due_idx" ON "webhook_events" USING btree ("next_attempt_at","id") WHERE "webhook_events"."status" = 'received';--> statement-breakpoint
CREATE INDEX "webhook_events_processing_idx" ON "webhook_events" USING btree ("locked_at") WHERE "webhook_events"."status" = 'processing';--> statement-breakpoint
CREATE INDEX "webhook_events_source_id_idx" ON "webhook_events" USING btree ("source","id");--> statement-breakpoint
CREATE INDEX "webhook_events_status_id_idx" ON "webhook_events" USING btree ("status","id");