-- sha256 of the exact body bytes. Rows stored before this migration keep NULL ("unknown"): the
-- ingest comparison falls back to hashing their body, so no table rewrite is needed here.
ALTER TABLE "webhook_events" ADD COLUMN "content_hash" bytea;--> statement-breakpoint
-- When the event was last replayed: latency statistics measure from here, not from its first receipt.
ALTER TABLE "webhook_events" ADD COLUMN "replayed_at" timestamp with time zone;--> statement-breakpoint
-- A delivery with the dedupe key of a stored event but different bytes: kept, byte for byte.
CREATE TABLE "event_conflicts" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "event_conflicts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"event_id" bigint NOT NULL,
	"source" text NOT NULL,
	"webhook_id" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"content_hash" bytea NOT NULL,
	"body" bytea NOT NULL,
	"headers" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"body_size" integer NOT NULL,
	CONSTRAINT "event_conflicts_event_hash_key" UNIQUE("event_id","content_hash")
);
--> statement-breakpoint
ALTER TABLE "event_conflicts" ADD CONSTRAINT "event_conflicts_event_id_webhook_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."webhook_events"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "event_conflicts_source_id_idx" ON "event_conflicts" USING btree ("source","id");--> statement-breakpoint
CREATE INDEX "event_conflicts_received_idx" ON "event_conflicts" USING btree ("received_at");
