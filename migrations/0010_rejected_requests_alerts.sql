CREATE TABLE "rejected_requests" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
	"received_at" timestamp with time zone NOT NULL,
	"source" text NOT NULL,
	"cause" text NOT NULL,
	"status" integer NOT NULL,
	"client" text,
	"user_agent" text,
	"body_bytes" integer,
	"body_sha256" text,
	"headers" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"repeat_count" integer DEFAULT 1 NOT NULL,
	"aggregate_minute" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "rejected_requests_received_idx" ON "rejected_requests" USING btree ("received_at");--> statement-breakpoint
CREATE INDEX "rejected_requests_source_id_idx" ON "rejected_requests" USING btree ("source","id");--> statement-breakpoint
CREATE UNIQUE INDEX "rejected_requests_aggregate_key" ON "rejected_requests" USING btree ("source","cause","aggregate_minute") WHERE "rejected_requests"."aggregate_minute" is not null;--> statement-breakpoint
CREATE TABLE "alert_channels" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
	"name" text NOT NULL,
	"type" text NOT NULL,
	"config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "alert_channels_name_key" UNIQUE("name"),
	CONSTRAINT "alert_channels_type_check" CHECK ("alert_channels"."type" in ('webhook', 'slack', 'email'))
);
--> statement-breakpoint
CREATE TABLE "alert_rules" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"params" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"channels" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "alert_rules_name_key" UNIQUE("name"),
	CONSTRAINT "alert_rules_kind_check" CHECK ("alert_rules"."kind" in ('event_failed', 'destination_failing', 'backlog_age', 'signature_failures', 'poll_failing'))
);
--> statement-breakpoint
CREATE TABLE "alerts" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
	"rule_id" bigint NOT NULL,
	"condition_key" text NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"summary" text NOT NULL,
	"opened_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone,
	"opened_notified_at" timestamp with time zone,
	"resolved_notified_at" timestamp with time zone,
	"notify_attempts" integer DEFAULT 0 NOT NULL,
	"notify_error" text,
	CONSTRAINT "alerts_status_check" CHECK ("alerts"."status" in ('open', 'resolved'))
);
--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_rule_id_alert_rules_id_fk" FOREIGN KEY ("rule_id") REFERENCES "public"."alert_rules"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "alerts_open_key" ON "alerts" USING btree ("rule_id","condition_key") WHERE "alerts"."status" = 'open';--> statement-breakpoint
CREATE INDEX "alerts_rule_id_idx" ON "alerts" USING btree ("rule_id","id");--> statement-breakpoint
CREATE TABLE "alert_evaluator_lease" (
	"id" integer PRIMARY KEY NOT NULL,
	"holder" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "alert_evaluator_lease_single_row" CHECK ("alert_evaluator_lease"."id" = 1)
);
--> statement-breakpoint
CREATE INDEX "delivery_attempts_started_idx" ON "delivery_attempts" USING btree ("started_at");--> statement-breakpoint
CREATE INDEX "webhook_events_failed_processed_idx" ON "webhook_events" USING btree ("processed_at") WHERE "webhook_events"."status" = 'failed';
