-- Fair share between tenants (e.g. 'installation:123', a GitHub App installation): the claim takes every tenant's
-- first jobs before anyone's later ones, caps each tenant's running jobs, and enqueue caps its pending ones.
-- Jobs without a tenant (NULL) share one group among themselves, as before.
ALTER TABLE jobs ADD COLUMN tenant text;

-- The claim walks the tenants with pending jobs (one descent each) and each tenant's jobs in claim order. The
-- group without a tenant is the '' prefix: an equality, so the planner reads that prefix in claim order (with
-- "tenant IS NULL" it does not know the order and sorts every pending row). Tenants are never blank.
-- jobs_claim_order stays for instances of the previous release.
CREATE INDEX jobs_claim_by_tenant ON jobs ((COALESCE(tenant, '')), priority, run_at, id) WHERE status = 'PENDING';
-- A tenant's running jobs, counted against its cap.
CREATE INDEX jobs_running_by_tenant ON jobs (tenant) WHERE status = 'RUNNING' AND tenant IS NOT NULL;

-- How many more jobs of tenant t may start now, given the cap. Claims of one tenant take turns on a transaction-level
-- advisory lock (released at commit, after their rows are visible), and the count is read with a fresh snapshot
-- (a VOLATILE function in READ COMMITTED takes one per query), so two instances claiming at once see each other's
-- claims and never exceed the cap together. The claim calls it in tenant order, so the locks never deadlock.
CREATE FUNCTION job_tenant_free_slots(t text, cap integer) RETURNS integer
    LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1651077986, hashtext(t)); -- first key: 'bisb', this lock's namespace
    RETURN greatest(cap - (SELECT count(*) FROM jobs WHERE tenant = t AND status = 'RUNNING'), 0);
END
$$;
