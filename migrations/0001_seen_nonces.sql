CREATE TABLE "seen_nonces" (
	"source" text NOT NULL,
	"nonce" text NOT NULL,
	"seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "seen_nonces_source_nonce_pk" PRIMARY KEY("source","nonce")
);
--> statement-breakpoint
CREATE INDEX "seen_nonces_seen_at_idx" ON "seen_nonces" USING btree ("seen_at");