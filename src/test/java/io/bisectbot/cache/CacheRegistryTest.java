package io.bisectbot.cache;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.bisectbot.TestDatabase;
import io.bisectbot.TestExecutor;
import io.bisectbot.executor.CancellationSignal;
import io.bisectbot.executor.StepOutcome;
import io.bisectbot.executor.StepSpec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.util.unit.DataSize;

class CacheRegistryTest {

    private final HikariDataSource database = TestDatabase.migrated();
    private final TestExecutor docker = TestExecutor.start(database, new SimpleMeterRegistry());
    private final List<StepSpec.Cache> created = new ArrayList<>();
    private final String run = UUID.randomUUID().toString();
    private Instant now = Instant.parse("2026-01-01T00:00:00Z");
    private final Clock clock = new Clock() {
        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    };

    @AfterEach
    void cleanUp() throws Exception {
        created.forEach(c -> docker.executor().removeCache(c.volume()));
        docker.close();
        database.close();
    }

    /** A job of repository {@code repo} that writes {@code megabytes} into its cache at {@code path}. */
    private StepSpec.Cache job(CacheRegistry registry, String repo, String path, int megabytes) {
        var repository = "https://example.test/" + repo + "-" + run + ".git";
        var cache = CachePaths.volume(CachePaths.scope(5, repository, true), path);
        created.add(cache);
        registry.used(List.of(cache), repository, 5, true);
        var result = docker.executor()
                .run(
                        StepSpec.builder(1, "worker-cache", 1, "fill", TestExecutor.RUNNER_IMAGE)
                                .timeout(Duration.ofSeconds(60))
                                .cache(cache)
                                .shell(
                                        megabytes == 0
                                                ? "ls " + path
                                                : "head -c " + megabytes * 1_000_000 + " /dev/zero > " + path + "/blob")
                                .build(),
                        (stream, text) -> {},
                        CancellationSignal.create());
        assertThat(result.outcome()).isEqualTo(new StepOutcome.Exited(0));
        registry.finished(List.of(cache));
        now = now.plusSeconds(60);
        return cache;
    }

    private List<String> volumes() {
        return docker.executor().cacheVolumes();
    }

    @Test
    void over_the_total_limit_the_least_recently_used_repository_s_cache_is_removed() {
        var registry = new CacheRegistry(
                JdbcClient.create(database),
                docker.executor(),
                new CacheProperties(DataSize.ofMegabytes(100), DataSize.ofMegabytes(5)),
                clock);
        var first = job(registry, "first", "/cache/a", 2);
        var second = job(registry, "second", "/cache/a", 2);
        job(
                registry,
                "first",
                "/cache/a",
                0); // first is used again (and keeps its 2 MB): second is now the least recently used
        var third = job(registry, "third", "/cache/a", 2);

        assertThat(volumes()).contains(first.volume(), third.volume()).doesNotContain(second.volume());
        assertThat(registry.stats()).containsEntry("volumes", 2L).containsEntry("repositories", 2L);
        assertThat((Long) registry.stats().get("total_bytes")).isBetween(4_000_000L, 4_400_000L);
    }

    @Test
    void over_the_per_repository_limit_its_least_recently_used_volume_is_removed() {
        var registry = new CacheRegistry(
                JdbcClient.create(database),
                docker.executor(),
                new CacheProperties(DataSize.ofMegabytes(3), DataSize.ofMegabytes(100)),
                clock);
        var older = job(registry, "app", "/cache/m2", 2);
        var other = job(registry, "lib", "/cache/m2", 2);
        var newer = job(registry, "app", "/cache/npm", 2);

        assertThat(volumes()).contains(newer.volume(), other.volume()).doesNotContain(older.volume());
    }
}
