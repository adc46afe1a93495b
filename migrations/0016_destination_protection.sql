-- Destination protection (docs/destinations.md#protecting-destinations). A database destination's
-- rate limit ({"per_second": n, "per_minute": n}) and circuit settings ({"failure_threshold": n,
-- "cooldown_seconds": n}); NULL: no rate limit / the default circuit settings. paused_reason says
-- why a destination was paused by the gateway itself (a 410 Gone answer); NULL for an operator's pause.
ALTER TABLE destinations ADD COLUMN rate_limit jsonb;
--> statement-breakpoint
ALTER TABLE destinations ADD COLUMN circuit jsonb;
--> statement-breakpoint
ALTER TABLE destinations ADD COLUMN paused_reason text;
--> statement-breakpoint
-- Circuit-breaker state, keyed by destination name so file destinations have one too; shared by
-- every worker process. No row: closed with no failures. probe_until: while half-open, when the
-- probe delivery's claim lapses (its worker died) and another delivery may probe instead.
CREATE TABLE destination_health (
  name text PRIMARY KEY,
  state text NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open', 'half_open')),
  consecutive_failures integer NOT NULL DEFAULT 0,
  opened_at timestamptz,
  probe_until timestamptz,
  gone_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
-- Rate-limit windows: one row per destination and window size ('s' or 'm'), reset in place when a
-- new window starts, so the table never grows. refused counts the deliveries turned away in the
-- window: each one's place in that line says how many windows it waits. ok: whether the latest
-- request was admitted (RETURNING only sees the new row). UNLOGGED: a commit that only touched it
-- does not wait for a WAL flush, so the one row per destination every delivery updates is not
-- limited by the disk (bench/rate-limit.ts); a crash empties it, which only restarts the windows.
CREATE UNLOGGED TABLE destination_rate (
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('s', 'm')),
  window_start bigint NOT NULL,
  admitted integer NOT NULL,
  refused integer NOT NULL DEFAULT 0,
  ok boolean NOT NULL DEFAULT true,
  PRIMARY KEY (name, kind)
);
--> statement-breakpoint
-- Alert rule kind destination_circuit_open (src/alerts): a destination's circuit is open or it answered 410 Gone.
ALTER TABLE alert_rules DROP CONSTRAINT alert_rules_kind_check;
--> statement-breakpoint
ALTER TABLE alert_rules ADD CONSTRAINT alert_rules_kind_check CHECK (kind in ('event_failed', 'destination_failing', 'backlog_age', 'signature_failures', 'poll_failing', 'destination_circuit_open'));
