package io.bisectbot.github;

import java.sql.Timestamp;
import java.time.Clock;
import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.JsonNode;

/** The {@code installations}, {@code repositories} and {@code pull_requests} tables, kept from webhook events. */
final class Installations {

    private final JdbcClient jdbc;
    private final Clock clock;

    Installations(DataSource dataSource, Clock clock) {
        this.jdbc = JdbcClient.create(dataSource);
        this.clock = clock;
    }

    /** Inserts or updates an installation from a payload's {@code installation} object. */
    void upsert(JsonNode installation) {
        var suspended = installation.path("suspended_at");
        jdbc.sql("""
                        INSERT INTO installations (id, account_login, account_type, suspended_at, created_at, updated_at)
                        VALUES (:id, :login, :type, CAST(:suspended AS timestamptz), :now, :now)
                        ON CONFLICT (id) DO UPDATE SET account_login = excluded.account_login,
                                                       account_type = coalesce(excluded.account_type, installations.account_type),
                                                       suspended_at = excluded.suspended_at,
                                                       updated_at = excluded.updated_at""")
                .param("id", installation.path("id").asLong())
                .param("login", installation.path("account").path("login").asString("unknown"))
                .param("type", installation.path("account").path("type").asString(null))
                .param("suspended", suspended.isString() ? suspended.asString() : null)
                .param("now", Timestamp.from(clock.instant()))
                .update();
    }

    void setSuspended(long installationId, boolean suspended) {
        jdbc.sql(
                        "UPDATE installations SET suspended_at = CASE WHEN :suspended THEN CAST(:now AS timestamptz) END, updated_at = :now WHERE id = :id")
                .param("suspended", suspended)
                .param("now", Timestamp.from(clock.instant()))
                .param("id", installationId)
                .update();
    }

    void delete(long installationId) {
        jdbc.sql("DELETE FROM installations WHERE id = :id")
                .param("id", installationId)
                .update();
    }

    void addRepositories(long installationId, JsonNode repositories) {
        for (var repo : repositories) {
            jdbc.sql("""
                            INSERT INTO repositories (id, installation_id, full_name, private, added_at)
                            VALUES (:id, :installation, :name, :private, :now)
                            ON CONFLICT (id) DO UPDATE SET installation_id = excluded.installation_id,
                                                           full_name = excluded.full_name, private = excluded.private""")
                    .param("id", repo.path("id").asLong())
                    .param("installation", installationId)
                    .param("name", repo.path("full_name").asString())
                    .param("private", repo.path("private").asBoolean(false))
                    .param("now", Timestamp.from(clock.instant()))
                    .update();
        }
    }

    void removeRepositories(long installationId, JsonNode repositories) {
        for (var repo : repositories) {
            jdbc.sql("DELETE FROM repositories WHERE id = :id AND installation_id = :installation")
                    .param("id", repo.path("id").asLong())
                    .param("installation", installationId)
                    .update();
        }
    }

    boolean isSuspended(long installationId) {
        return jdbc.sql("SELECT suspended_at IS NOT NULL FROM installations WHERE id = :id")
                .param("id", installationId)
                .query(Boolean.class)
                .optional()
                .orElse(false);
    }

    void upsertPullRequest(long repositoryId, int number, String headSha, String state) {
        jdbc.sql("""
                        INSERT INTO pull_requests (repository_id, number, head_sha, state, updated_at)
                        VALUES (:repo, :number, :sha, :state, :now)
                        ON CONFLICT (repository_id, number) DO UPDATE SET head_sha = excluded.head_sha,
                                                                          state = excluded.state, updated_at = excluded.updated_at
                         WHERE pull_requests.updated_at <= excluded.updated_at""")
                .param("repo", repositoryId)
                .param("number", number)
                .param("sha", headSha)
                .param("state", state)
                .param("now", Timestamp.from(clock.instant()))
                .update();
    }
}
