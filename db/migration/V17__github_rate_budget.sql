-- GitHub's secondary rate limits count per installation, whichever instance sends: one row per installation holds
-- the budget all instances share. Every time in it is the database's (now()), never an instance's.
CREATE TABLE github_rate_budget (
    installation_id bigint PRIMARY KEY,
    -- Content-creating requests (POST, PATCH, PUT, DELETE) in the minute and the hour that started at these times.
    minute_start    timestamptz   NOT NULL DEFAULT now(),
    minute_writes   integer       NOT NULL DEFAULT 0,
    hour_start      timestamptz   NOT NULL DEFAULT now(),
    hour_writes     integer       NOT NULL DEFAULT 0,
    -- One lease per request in flight, by its expiry: a crashed instance's requests stop counting when they expire.
    in_flight       timestamptz[] NOT NULL DEFAULT '{}',
    -- GitHub said to wait (Retry-After, a secondary limit, a spent primary limit) until then: no instance sends.
    paused_until    timestamptz,
    pause_reason    text
);

-- Takes a slot for one request of an installation, and for a write one unit of the minute's and the hour's budget.
-- One statement per request: the row is locked for its duration, so concurrent callers are served one by one.
-- granted false: reason is paused, hour, minute or concurrent, and wait_ms how long until it may be asked again
-- (0 for concurrent: a request in flight ends at any moment).
CREATE FUNCTION github_budget_take(p_installation bigint, p_write boolean, p_per_minute integer, p_per_hour integer,
                                   p_max_concurrent integer, p_lease_seconds double precision,
                                   OUT granted boolean, OUT reason text, OUT wait_ms bigint, OUT lease timestamptz)
    LANGUAGE plpgsql AS $$
DECLARE
    b    github_rate_budget;
    live timestamptz[];
BEGIN
    SELECT * INTO b FROM github_rate_budget WHERE installation_id = p_installation FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO github_rate_budget (installation_id) VALUES (p_installation) ON CONFLICT DO NOTHING;
        SELECT * INTO b FROM github_rate_budget WHERE installation_id = p_installation FOR UPDATE;
    END IF;
    IF b.minute_start <= now() - interval '1 minute' THEN
        b.minute_start := now();
        b.minute_writes := 0;
    END IF;
    IF b.hour_start <= now() - interval '1 hour' THEN
        b.hour_start := now();
        b.hour_writes := 0;
    END IF;
    live := ARRAY(SELECT e FROM unnest(b.in_flight) e WHERE e > now());
    granted := false;
    IF b.paused_until > now() THEN
        reason := 'paused';
        wait_ms := ceil(extract(epoch FROM b.paused_until - now()) * 1000);
    ELSIF p_write AND b.hour_writes >= p_per_hour THEN
        reason := 'hour';
        wait_ms := ceil(extract(epoch FROM b.hour_start + interval '1 hour' - now()) * 1000);
    ELSIF p_write AND b.minute_writes >= p_per_minute THEN
        reason := 'minute';
        wait_ms := ceil(extract(epoch FROM b.minute_start + interval '1 minute' - now()) * 1000);
    ELSIF cardinality(live) >= p_max_concurrent THEN
        reason := 'concurrent';
        wait_ms := 0;
    ELSE
        granted := true;
        wait_ms := 0;
        lease := now() + make_interval(secs => p_lease_seconds);
        UPDATE github_rate_budget
           SET minute_start = b.minute_start,
               minute_writes = b.minute_writes + CASE WHEN p_write THEN 1 ELSE 0 END,
               hour_start = b.hour_start,
               hour_writes = b.hour_writes + CASE WHEN p_write THEN 1 ELSE 0 END,
               in_flight = live || lease
         WHERE installation_id = p_installation;
    END IF;
END
$$;

-- Ends a request: frees its slot (p_lease, may be null) and, when GitHub said to wait, pauses the installation for
-- every instance until p_pause_at or p_pause_seconds from now (the later of that and any pause already stored).
-- Returns how long the installation is paused from now, in milliseconds (0 when it is not).
CREATE FUNCTION github_budget_release(p_installation bigint, p_lease timestamptz, p_pause_at timestamptz,
                                      p_pause_seconds double precision, p_reason text)
    RETURNS bigint LANGUAGE sql AS $$
    WITH pause AS (
        SELECT coalesce(p_pause_at, now() + make_interval(secs => p_pause_seconds)) AS until
    ), upsert AS (
        INSERT INTO github_rate_budget AS b (installation_id, paused_until, pause_reason)
        SELECT p_installation, pause.until, p_reason FROM pause WHERE pause.until IS NOT NULL
        ON CONFLICT (installation_id) DO NOTHING
        RETURNING b.paused_until
    ), updated AS (
        UPDATE github_rate_budget b
           SET in_flight = CASE WHEN array_position(b.in_flight, p_lease) IS NULL THEN b.in_flight
                                ELSE b.in_flight[:array_position(b.in_flight, p_lease) - 1]
                                     || b.in_flight[array_position(b.in_flight, p_lease) + 1:] END,
               paused_until = CASE WHEN pause.until > coalesce(b.paused_until, '-infinity') THEN pause.until
                                   ELSE b.paused_until END,
               pause_reason = CASE WHEN pause.until > coalesce(b.paused_until, '-infinity') THEN p_reason
                                   ELSE b.pause_reason END
          FROM pause
         WHERE b.installation_id = p_installation
     RETURNING b.paused_until
    )
    SELECT coalesce(greatest(0, ceil(extract(epoch FROM max(until) - now()) * 1000)), 0)::bigint
      FROM (SELECT paused_until AS until FROM updated UNION ALL SELECT paused_until FROM upsert) t;
$$;
