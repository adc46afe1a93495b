-- A destination's filter (src/routing/filter.ts): only matching events are posted to it; the others
-- are logged in delivery_attempts with outcome 'ignored' (outcome is free text, no CHECK to widen).
-- NULL: every event of its sources.
ALTER TABLE destinations ADD COLUMN filter jsonb;
