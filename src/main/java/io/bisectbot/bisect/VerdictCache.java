package io.bisectbot.bisect;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.Optional;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Remembers what a test run said about a commit, keyed by (repository, commit, image digest, command hash, repeat
 * rule, run index), so later jobs that opt in ({@code verdict_cache: true}) skip runs already made. Only runs that
 * decide something (an exit code, a timeout) are kept; infrastructure errors and cancelled runs never are.
 */
final class VerdictCache {

    record Key(String repository, String imageDigest, String commandHash, String repeatRule) {
    }

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
            var text = (request.argv() != null ? "argv\0" + String.join("\0", request.argv()) : "sh\0" + request.command())
                    + "\0timeout=" + request.timeout().toSeconds()
                    // A run with caches or network may behave differently from one without: another key.
                    + (request.caching().paths().isEmpty() ? "" : "\0cache=" + String.join("\0", request.caching().paths()))
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
                .param("repository", key.repository()).param("commit", commit).param("image", key.imageDigest())
                .param("command", key.commandHash()).param("rule", key.repeatRule()).param("run_index", runIndex)
                .query((rs, row) -> {
                    var duration = Duration.ofMillis(rs.getLong("duration_ms"));
                    return "EXITED".equals(rs.getString("outcome"))
                            ? (StepResult) new StepResult.Exited(rs.getInt("exit_code"), duration)
                            : new StepResult.TimedOut(duration);
                })
                .optional();
    }

    void remember(Key key, String commit, int runIndex, StepResult result, long jobId) {
        String outcome;
        Integer exitCode = null;
        switch (result) {
            // 128 and above say nothing about the commit (the run was killed or could not start).
            case StepResult.Exited exited when exited.exitCode() < 128 -> {
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
                                                          run_index, outcome, exit_code, duration_ms, job_id, recorded_at)
                        VALUES (:repository, :commit, :image, :command, :rule, :run_index, :outcome, :exit_code,
                                :duration_ms, :job_id, :now)
                        ON CONFLICT DO NOTHING""")
                .param("repository", key.repository()).param("commit", commit).param("image", key.imageDigest())
                .param("command", key.commandHash()).param("rule", key.repeatRule()).param("run_index", runIndex)
                .param("outcome", outcome).param("exit_code", exitCode).param("duration_ms", result.duration().toMillis())
                .param("job_id", jobId).param("now", clock.instant().atOffset(ZoneOffset.UTC))
                .update();
    }

    /** A runner that answers from the cache when it can and remembers what the wrapped runner finds. */
    StepRunner around(StepRunner runner, Key key, long jobId) {
        return request -> {
            var cached = find(key, request.commit(), request.runIndex());
            if (cached.isPresent()) {
                var done = java.util.concurrent.CompletableFuture.completedFuture(cached.get());
                return new StepRunner.Handle() {
                    @Override
                    public java.util.concurrent.CompletableFuture<StepResult> result() {
                        return done;
                    }

                    @Override
                    public void cancel() {
                    }
                };
            }
            var handle = runner.start(request);
            handle.result().thenAccept(result -> remember(key, request.commit(), request.runIndex(), result, jobId));
            return handle;
        };
    }
}
