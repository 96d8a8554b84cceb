-- GitHub App: webhook deliveries, installations and their repositories, pull request heads, and the outbox of
-- writes to GitHub.

-- Every accepted webhook delivery, keyed by X-GitHub-Delivery so a redelivery is recognised. Kept for
-- GITHUB_DELIVERY_RETENTION; the signature header is not stored.
CREATE TABLE github_deliveries (
    delivery_id     text PRIMARY KEY,
    event           text        NOT NULL,
    action          text,
    installation_id bigint,
    headers         jsonb       NOT NULL,
    -- json, not jsonb: the body exactly as GitHub sent it, and cheaper to store.
    payload         json        NOT NULL,
    received_at     timestamptz NOT NULL,
    processed_at    timestamptz,
    -- What processing did: 'processed', 'ignored: ...', 'failed: ...'.
    outcome         text,
    reprocess_count integer     NOT NULL DEFAULT 0
);
CREATE INDEX github_deliveries_received_at ON github_deliveries (received_at);

CREATE TABLE installations (
    id            bigint PRIMARY KEY,
    account_login text        NOT NULL,
    account_type  text,
    suspended_at  timestamptz,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE repositories (
    id              bigint PRIMARY KEY,
    installation_id bigint      NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
    full_name       text        NOT NULL,
    private         boolean     NOT NULL DEFAULT false,
    added_at        timestamptz NOT NULL
);
CREATE INDEX repositories_by_installation ON repositories (installation_id);
CREATE INDEX repositories_by_full_name ON repositories (lower(full_name));

-- The head commit of each open pull request, so a command on a pull request runs at its head.
CREATE TABLE pull_requests (
    repository_id bigint      NOT NULL,
    number        integer     NOT NULL,
    head_sha      text        NOT NULL,
    state         text        NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (repository_id, number)
);

-- Every write to GitHub, inserted in the transaction of the change that caused it and delivered by any instance.
CREATE TABLE github_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Writing the same key again is a no-op: a report asked for twice has one effect.
    idempotency_key text        NOT NULL UNIQUE,
    installation_id bigint      NOT NULL,
    action          text        NOT NULL,
    request         jsonb       NOT NULL,
    -- The key of a row whose result this one needs (a check run update needs the created check run's id).
    depends_on      text,
    status          text        NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DONE', 'DEAD')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    lease_owner     text,
    lease_until     timestamptz,
    last_error      text,
    result          jsonb,
    created_at      timestamptz NOT NULL,
    done_at         timestamptz
);
CREATE INDEX github_outbox_due ON github_outbox (next_attempt_at, id) WHERE status = 'PENDING';
CREATE INDEX github_outbox_done_at ON github_outbox (done_at) WHERE done_at IS NOT NULL;

-- /cancel finds the live jobs of one issue or pull request by their payload.github.
CREATE INDEX jobs_live_by_github_thread
    ON jobs ((payload -> 'github' ->> 'owner'), (payload -> 'github' ->> 'repo'), (payload -> 'github' ->> 'issue_number'))
    WHERE status IN ('PENDING', 'RUNNING');
