package io.bisectbot.bisect;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Remembers what a test run said about a commit, keyed by (repository, commit, image digest, command hash, repeat
 * rule, run index), so later jobs that opt in ({@code verdict_cache: true}) skip runs already made. Each run also
 * records its commit's tree, so a commit with the same tree as one an earlier job tested takes that verdict. Only runs that
 * decide something (an exit code, a timeout) are kept; infrastructure errors and cancelled runs never are.
 */
final class VerdictCache {

    record Key(String repository, String imageDigest, String commandHash, String repeatRule) {}

    private final JdbcClient jdbc;
    private final Clock clock;

    VerdictCache(JdbcClient jdbc, Clock clock) {
        this.jdbc = jdbc;
        this.clock = clock;
    }

    static String commandHash(BisectRequest request) {
        try {
            var digest = MessageDigest.getInstance("SHA-256");
            // argv and shell forms of the same words are different commands.
            var text = (request.argv() != null
                            ? "argv\0" + String.join("\0", request.argv())
                            : "sh\0" + request.command())
                    + "\0timeout=" + request.timeout().toSeconds()
                    // A run with caches or network may behave differently from one without: another key.
                    + (request.caching().paths().isEmpty()
                            ? ""
                            : "\0cache=" + String.join("\0", request.caching().paths()))
                    + (request.network() == io.bisectbot.executor.StepSpec.Network.BRIDGE ? "\0network=bridge" : "");
            return HexFormat.of().formatHex(digest.digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    Optional<StepResult> find(Key key, String commit, int runIndex) {
        return jdbc.sql("""
                        SELECT outcome, exit_code, duration_ms FROM bisect_verdict_cache
                         WHERE repository = :repository AND commit_sha = :commit AND image_digest = :image
                           AND command_hash = :command AND repeat_rule = :rule AND run_index = :run_index""")
                .param("repository", key.repository())
                .param("commit", commit)
                .param("image", key.imageDigest())
                .param("command", key.commandHash())
                .param("rule", key.repeatRule())
                .param("run_index", runIndex)
                .query((rs, row) -> {
                    var duration = Duration.ofMillis(rs.getLong("duration_ms"));
                    return "EXITED".equals(rs.getString("outcome"))
                            ? (StepResult) new StepResult.Exited(rs.getInt("exit_code"), duration)
                            : new StepResult.TimedOut(duration);
                })
                .optional();
    }

    /** A run of another commit with the same tree, under the same key and run index: what {@link SameTree} asks. */
    Optional<SameTree.Earlier> findByTree(Key key, String tree, String commit, int runIndex) {
        return jdbc.sql("""
                        SELECT commit_sha, outcome, exit_code, duration_ms FROM bisect_verdict_cache
                         WHERE repository = :repository AND tree_sha = :tree AND image_digest = :image
                           AND command_hash = :command AND repeat_rule = :rule AND run_index = :run_index
                           AND commit_sha <> :commit
                         ORDER BY recorded_at, commit_sha LIMIT 1""")
                .param("repository", key.repository())
                .param("tree", tree)
                .param("image", key.imageDigest())
                .param("command", key.commandHash())
                .param("rule", key.repeatRule())
                .param("run_index", runIndex)
                .param("commit", commit)
                .query((rs, row) -> {
                    var duration = Duration.ofMillis(rs.getLong("duration_ms"));
                    StepResult result = "EXITED".equals(rs.getString("outcome"))
                            ? new StepResult.Exited(rs.getInt("exit_code"), duration)
                            : new StepResult.TimedOut(duration);
                    return new SameTree.Earlier(rs.getString("commit_sha"), result);
                })
                .optional();
    }

    /** Same-tree verdicts from this job and, through this cache, from earlier jobs under the same key. */
    SameTree sameTree(Key key, RevisionSource source) {
        return new SameTree() {
            @Override
            public Optional<String> tree(String commit) {
                return source.tree(commit);
            }

            @Override
            public Optional<Earlier> earlier(String tree, String commit, int runIndex) {
                return findByTree(key, tree, commit, runIndex);
            }
        };
    }

    void remember(Key key, String commit, int runIndex, StepResult result, long jobId) {
        remember(key, commit, null, runIndex, result, jobId);
    }

    void remember(Key key, String commit, String tree, int runIndex, StepResult result, long jobId) {
        String outcome;
        Integer exitCode = null;
        switch (result) {
            // 128 and above say nothing about the commit (the run was killed or could not start).
            case StepResult.Exited exited
            when exited.exitCode() < 128 -> {
                outcome = "EXITED";
                exitCode = exited.exitCode();
            }
            case StepResult.TimedOut ignored -> outcome = "TIMED_OUT";
            default -> {
                return;
            }
        }
        jdbc.sql("""
                        INSERT INTO bisect_verdict_cache (repository, commit_sha, image_digest, command_hash, repeat_rule,
                                                          run_index, outcome, exit_code, duration_ms, job_id, recorded_at,
                                                          tree_sha)
                        VALUES (:repository, :commit, :image, :command, :rule, :run_index, :outcome, :exit_code,
                                :duration_ms, :job_id, :now, :tree)
                        ON CONFLICT DO NOTHING""")
                .param("tree", tree)
                .param("repository", key.repository())
                .param("commit", commit)
                .param("image", key.imageDigest())
                .param("command", key.commandHash())
                .param("rule", key.repeatRule())
                .param("run_index", runIndex)
                .param("outcome", outcome)
                .param("exit_code", exitCode)
                .param("duration_ms", result.duration().toMillis())
                .param("job_id", jobId)
                .param("now", clock.instant().atOffset(ZoneOffset.UTC))
                .update();
    }

    private static String treeOrNull(java.util.function.Function<String, Optional<String>> trees, String commit) {
        try {
            return trees.apply(commit).orElse(null);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** A runner that answers from the cache when it can and remembers what the wrapped runner finds. */
    StepRunner around(StepRunner runner, Key key, long jobId) {
        return around(runner, key, jobId, commit -> Optional.empty());
    }

    /** A runner answering from the cache; {@link #hits()} says which runs it answered, for the report. */
    interface CachedRunner extends StepRunner {
        /** The runs taken from an earlier job's run of the same commit, in the order they were asked for. */
        List<StepRunner.Request> hits();
    }

    /** As {@link #around(StepRunner, Key, long)}, remembering each run's tree too. */
    CachedRunner around(
            StepRunner runner, Key key, long jobId, java.util.function.Function<String, Optional<String>> trees) {
        var hits = java.util.Collections.synchronizedList(new java.util.ArrayList<StepRunner.Request>());
        StepRunner start = request -> {
            var cached = find(key, request.commit(), request.runIndex());
            if (cached.isPresent()) {
                hits.add(request);
                var done = java.util.concurrent.CompletableFuture.completedFuture(cached.get());
                return new StepRunner.Handle() {
                    @Override
                    public java.util.concurrent.CompletableFuture<StepResult> result() {
                        return done;
                    }

                    @Override
                    public void cancel() {}
                };
            }
            var handle = runner.start(request);
            handle.result()
                    .thenAccept(result -> remember(
                            key,
                            request.commit(),
                            treeOrNull(trees, request.commit()),
                            request.runIndex(),
                            result,
                            jobId));
            return handle;
        };
        return new CachedRunner() {
            @Override
            public Handle start(Request request) {
                return start.start(request);
            }

            @Override
            public List<Request> hits() {
                synchronized (hits) {
                    return List.copyOf(hits);
                }
            }
        };
    }

    /**
     * The report's lines on runs taken from earlier jobs' runs of the same commit (same image digest, command,
     * timeout, caches, network and repeat rule); empty when none.
     */
    static String reusedReport(List<StepRunner.Request> hits) {
        if (hits.isEmpty()) {
            return "";
        }
        var commits = new java.util.LinkedHashMap<String, Integer>();
        hits.forEach(h -> commits.merge(h.commit(), 1, Integer::sum));
        var md = new StringBuilder(
                "\n**Verdicts reused from earlier jobs** (`verdict_cache`: the same commit tested with the same "
                        + "image, command, timeout, caches and network):");
        commits.forEach((commit, runs) -> md.append(" `")
                .append(commit, 0, Math.min(12, commit.length()))
                .append("` (")
                .append(runs)
                .append(runs == 1 ? " run" : " runs")
                .append("),"));
        md.setLength(md.length() - 1);
        return md.append(".\n").toString();
    }
}
