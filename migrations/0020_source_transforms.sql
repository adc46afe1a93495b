-- A source's transformation lives in its spec ("transform", like any other config-file key); it
-- runs in the worker before routing (docs/destinations.md#a-sources-transformation). transform_version is the
-- source's version at the last change of that key; each attempt records the one it ran, NULL when
-- the source had no transformation (0 for a source of GATEWAY_CONFIG, which has no versions).
ALTER TABLE sources ADD COLUMN transform_version integer NOT NULL DEFAULT 1;
--> statement-breakpoint
-- Existing sources: their transformation (none yet) is as old as their last change.
UPDATE sources SET transform_version = version;
--> statement-breakpoint
ALTER TABLE processing_log ADD COLUMN transform_version integer;
