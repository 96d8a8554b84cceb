package io.bisectbot.github;

import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;

/** The {@code head_approvals} table: which untrusted pull request heads a writer approved, by whom. */
final class Approvals {

    private final JdbcClient jdbc;
    private final Clock clock;

    Approvals(DataSource dataSource, Clock clock) {
        this.jdbc = JdbcClient.create(dataSource);
        this.clock = clock;
    }

    /** Records the approval; approving the same head again keeps the first approver. */
    void approve(long repositoryId, int pullRequest, String headSha, String approver) {
        jdbc.sql("""
                        INSERT INTO head_approvals (repository_id, pull_request, head_sha, approved_by, approved_at)
                        VALUES (:repo, :pr, :sha, :by, :now)
                        ON CONFLICT DO NOTHING""")
                .param("repo", repositoryId)
                .param("pr", pullRequest)
                .param("sha", headSha)
                .param("by", approver)
                .param("now", Timestamp.from(clock.instant()))
                .update();
    }

    /** Who approved exactly this head, if anyone. */
    Optional<String> approver(long repositoryId, int pullRequest, String headSha) {
        return jdbc.sql("""
                        SELECT approved_by FROM head_approvals
                         WHERE repository_id = :repo AND pull_request = :pr AND head_sha = :sha""")
                .param("repo", repositoryId)
                .param("pr", pullRequest)
                .param("sha", headSha)
                .query(String.class)
                .optional();
    }

    int deleteOlderThan(Duration age) {
        return jdbc.sql("DELETE FROM head_approvals WHERE approved_at < :before")
                .param("before", Timestamp.from(clock.instant().minus(age)))
                .update();
    }
}
