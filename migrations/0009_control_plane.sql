-- Control plane (src/control): push sources managed at runtime through the ops API and CLI.
-- `spec` is the source's entry as the GATEWAY_CONFIG file would write it, minus name and secrets,
-- so the API and the file are validated by the same schema. `version` backs ETag / If-Match.
CREATE TABLE sources (
  name text PRIMARY KEY,
  provider text NOT NULL,
  spec jsonb NOT NULL,
  paused boolean NOT NULL DEFAULT false,
  -- 'apply': created by `webhook-gateway apply`, which deletes it when the file no longer lists it.
  origin text NOT NULL DEFAULT 'api' CHECK (origin IN ('api', 'apply')),
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
-- Verification secrets, AES-256-GCM encrypted under the master key named by key_id (see
-- src/control/crypto.ts); the clear text is never stored. not_after ends a rotation overlap.
CREATE TABLE source_secrets (
  id bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
  source text NOT NULL REFERENCES sources(name) ON DELETE CASCADE,
  key_id text NOT NULL,
  iv bytea NOT NULL,
  tag bytea NOT NULL,
  ciphertext bytea NOT NULL,
  fingerprint text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  not_after timestamptz
);
--> statement-breakpoint
CREATE INDEX source_secrets_source_idx ON source_secrets (source);
--> statement-breakpoint
-- Every change is announced on "gateway_control" (at commit), so each instance re-reads its
-- registry snapshot within a second; whoever made the change (API, CLI, psql) needs to do nothing.
CREATE FUNCTION gateway_control_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('gateway_control', TG_TABLE_NAME);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER sources_notify AFTER INSERT OR UPDATE OR DELETE ON sources
  FOR EACH STATEMENT EXECUTE FUNCTION gateway_control_notify();
--> statement-breakpoint
CREATE TRIGGER source_secrets_notify AFTER INSERT OR UPDATE OR DELETE ON source_secrets
  FOR EACH STATEMENT EXECUTE FUNCTION gateway_control_notify();
