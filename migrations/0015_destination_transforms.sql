-- A destination's transformation (src/transform): {"language": "jsonata"|"javascript", "code": "…"};
-- NULL posts the canonical envelope. rule_version is the destination's version at the last change of
-- its filter, transformation or sources; each delivery records the rule version it was decided by.
ALTER TABLE destinations ADD COLUMN transform jsonb;
--> statement-breakpoint
ALTER TABLE destinations ADD COLUMN rule_version integer NOT NULL DEFAULT 1;
--> statement-breakpoint
-- Existing destinations: their rules are as old as their last change, which is all that is known.
UPDATE destinations SET rule_version = version;
--> statement-breakpoint
ALTER TABLE delivery_attempts ADD COLUMN rule_version integer;
