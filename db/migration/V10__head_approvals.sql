-- A person with write access let one exact pull request head run with the repository's full task config
-- ("/bot approve", or the approval label). Keyed by the commit: a new push is a new sha that no approval covers.
CREATE TABLE head_approvals (
    repository_id bigint      NOT NULL,
    pull_request  integer     NOT NULL,
    head_sha      text        NOT NULL,
    approved_by   text        NOT NULL,
    approved_at   timestamptz NOT NULL,
    PRIMARY KEY (repository_id, pull_request, head_sha)
);
CREATE INDEX head_approvals_approved_at ON head_approvals (approved_at);
