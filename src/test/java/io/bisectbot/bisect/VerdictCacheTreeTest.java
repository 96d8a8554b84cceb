package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.bisectbot.TestDatabase;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;

class VerdictCacheTreeTest {

    private final HikariDataSource database = TestDatabase.migrated();
    private final VerdictCache cache = new VerdictCache(JdbcClient.create(database), Clock.systemUTC());
    private final VerdictCache.Key key =
            new VerdictCache.Key("https://github.com/acme/app.git", "sha256:img", "cmd", "ALL_FAIL");

    @AfterEach
    void close() {
        database.close();
    }

    @Test
    void a_later_job_finds_the_run_of_another_commit_with_the_same_tree_under_the_same_key_only() {
        cache.remember(key, "c1", "t1", 0, new StepResult.Exited(1, Duration.ofSeconds(2)), 10);

        var hit = cache.findByTree(key, "t1", "c2", 0);

        assertThat(hit).hasValueSatisfying(h -> {
            assertThat(h.commit()).isEqualTo("c1");
            assertThat(h.result()).isEqualTo(new StepResult.Exited(1, Duration.ofSeconds(2)));
        });
        assertThat(cache.findByTree(key, "t1", "c1", 0))
                .as("a commit's own run is found by commit, not by tree")
                .isEmpty();
        assertThat(cache.findByTree(key, "t1", "c2", 1)).isEmpty();
        assertThat(cache.findByTree(
                        new VerdictCache.Key(key.repository(), key.imageDigest(), "other-command", "ALL_FAIL"),
                        "t1",
                        "c2",
                        0))
                .isEmpty();
    }
}
