-- Metric-mode bisection: the number a run printed on standard output, kept so a resumed job has every measurement
-- without running it again. NULL for pass/fail runs and for runs that printed no number.

ALTER TABLE bisect_steps ADD COLUMN metric double precision;
