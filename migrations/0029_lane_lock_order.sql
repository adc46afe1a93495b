-- Lane locks in the order of their lock key (docs/ordering.md). 0017 took them in the order of the
-- lanes' text but keyed each by hashtext(lane): two lanes whose hashes collide (a few pairs in every
-- 200,000 keys) share one lock, and a lane between them in text order made two transactions take
-- the same two locks in opposite orders — lanes a < b < c with hashtext(a) = hashtext(c): {a, b}
-- takes a then b, {b, c} takes b then a (as c). PostgreSQL broke the deadlock after a second by
-- failing one of them (an ingest batch then fell back to row by row). Sorted by the key itself, every
-- transaction takes any two locks in the same order; each key is taken once.
CREATE OR REPLACE FUNCTION event_queue_lock_lanes(lanes text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  lock_key integer;
BEGIN
  FOR lock_key IN SELECT DISTINCT hashtext(l) FROM unnest(lanes) AS l WHERE l IS NOT NULL ORDER BY 1 LOOP
    PERFORM pg_advisory_xact_lock(20170, lock_key);
  END LOOP;
END;
$$;
