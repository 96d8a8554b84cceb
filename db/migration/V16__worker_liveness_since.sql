-- When (database time) the worker took the liveness lock named in liveness_key. A lock taken before the server's
-- last start was ended by that restart, not by a crash: such a worker is not treated as crashed at once but gets
-- the heartbeat timeout, counted from the restart. NULL (workers of older versions): heartbeats only.
ALTER TABLE workers ADD COLUMN liveness_since timestamptz;
