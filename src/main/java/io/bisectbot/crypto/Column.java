package io.bisectbot.crypto;

import java.util.List;

/**
 * A column whose values are sealed. Its name is part of every value's associated data, so a value copied into
 * another column (or another table) does not decrypt there.
 *
 * @param table      the table
 * @param column     the column
 * @param compressed deflate the value before encrypting it: ciphertext does not compress, so PostgreSQL's own
 *                   compression of the column (lz4 for delivery payloads, V8) would find nothing left to do
 * @param plainKeys  for JSON objects: top-level keys copied next to the sealed value in the clear, because searches
 *                   need them (they name a repository, pull request, commit or task, never a secret)
 */
public record Column(String table, String column, boolean compressed, List<String> plainKeys) {

    public static final Column DELIVERY_PAYLOAD = new Column("github_deliveries", "payload", true, List.of());
    public static final Column STEP_LOG = new Column("step_logs", "content", false, List.of());
    /**
     * Bot jobs are found by owner, repo, pull_request, task and trigger (a new push cancels the old head's tasks);
     * {@code /cancel} finds a thread's jobs by {@code github.owner}, {@code github.repo} and {@code github.issue_number};
     * the jobs list's {@code sha:} search by the commits {@code head_sha}, {@code github.head_sha} and a bisection's
     * {@code bad} end (a commit or ref name, never a secret).
     */
    public static final Column JOB_PAYLOAD = new Column(
            "jobs",
            "payload",
            false,
            List.of(
                    "owner",
                    "repo",
                    "pull_request",
                    "task",
                    "trigger",
                    "head_sha",
                    "bad",
                    "installation_id",
                    "delivery_id",
                    "github.owner",
                    "github.repo",
                    "github.issue_number",
                    "github.head_sha"));

    public static final Column JOB_RESULT = new Column("jobs", "result", false, List.of());
    public static final Column OUTBOX_REQUEST = new Column("github_outbox", "request", false, List.of());

    public static final List<Column> ALL = List.of(DELIVERY_PAYLOAD, STEP_LOG, JOB_PAYLOAD, JOB_RESULT, OUTBOX_REQUEST);

    String id() {
        return table + "." + column;
    }

    @Override
    public String toString() {
        return id();
    }
}
