CREATE TABLE IF NOT EXISTS "stats_minute" (
	"minute" timestamp with time zone NOT NULL,
	"source" text NOT NULL,
	"received" integer DEFAULT 0 NOT NULL,
	"completed" integer DEFAULT 0 NOT NULL,
	"failed" integer DEFAULT 0 NOT NULL,
	"rejected" integer DEFAULT 0 NOT NULL,
	"latency_buckets" integer[],
	"backlog" integer,
	CONSTRAINT "stats_minute_pkey" PRIMARY KEY("minute","source")
);
