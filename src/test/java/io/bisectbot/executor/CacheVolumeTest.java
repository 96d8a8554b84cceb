package io.bisectbot.executor;

import static io.bisectbot.executor.DockerTestSupport.DOCKER;
import static io.bisectbot.executor.DockerTestSupport.RUNNER_IMAGE;
import static org.assertj.core.api.Assertions.assertThat;

import io.bisectbot.cache.CachePaths;
import io.bisectbot.executor.DockerTestSupport.RecordingSink;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CacheVolumeTest {

    private final DockerExecutor executor = new DockerExecutor(
            DOCKER,
            ExecutorProperties.defaultProperties().withDefaultImage(RUNNER_IMAGE),
            new SimpleMeterRegistry(),
            Clock.systemUTC());
    private final String repository = "https://example.test/acme/app-" + UUID.randomUUID() + ".git";
    private final List<String> volumes = new ArrayList<>();

    @AfterEach
    void cleanUp() {
        executor.close();
        volumes.forEach(executor::removeCache);
        DockerTestSupport.assertNoManagedContainersLeft();
    }

    private StepSpec.Cache cache(long installation, boolean trusted) {
        var cache = CachePaths.volume(CachePaths.scope(installation, repository, trusted), "/cache/deps");
        volumes.add(cache.volume());
        return cache;
    }

    private String run(StepSpec.Cache cache, String script) {
        var sink = new RecordingSink();
        var result = executor.run(
                StepSpec.builder(9, "worker-cache", 1, "cache", RUNNER_IMAGE)
                        .timeout(Duration.ofSeconds(60))
                        .cache(cache)
                        .shell(script)
                        .build(),
                sink,
                CancellationSignal.create());
        assertThat(result.outcome()).as(sink.text()).isEqualTo(new StepOutcome.Exited(0));
        return sink.text(LogStream.STDOUT);
    }

    @Test
    void a_file_written_into_a_cache_in_one_step_is_there_in_the_next_step_of_the_same_repository() {
        var cache = cache(101, true);
        run(cache, "echo fetched > /cache/deps/dep.jar && echo new > src.txt");

        var second = run(cache, "cat /cache/deps/dep.jar; ls");

        assertThat(second).contains("fetched").doesNotContain("src.txt");
    }

    @Test
    void another_installation_s_step_does_not_see_the_cache_of_the_same_repository() {
        run(cache(101, true), "echo secret-dependency > /cache/deps/dep.jar");

        var other = run(cache(202, true), "ls -A /cache/deps; echo done");

        assertThat(other.strip()).isEqualTo("done");
    }

    @Test
    void an_untrusted_run_writes_into_its_own_cache_not_the_trusted_one() {
        run(cache(101, false), "echo poisoned > /cache/deps/dep.jar");

        var trusted = run(cache(101, true), "cat /cache/deps/dep.jar 2>/dev/null || echo absent");

        assertThat(trusted.strip()).isEqualTo("absent");
    }

    @Test
    void a_cache_is_measured_and_removed_and_the_reaper_leaves_it_alone() {
        var cache = cache(101, true);
        run(cache, "head -c 3000000 /dev/zero > /cache/deps/blob");
        new OrphanReaper(DOCKER, (job, worker, attempt) -> false, Duration.ofMinutes(1), new SimpleMeterRegistry())
                .reapOnce();

        assertThat(executor.cacheVolumes()).contains(cache.volume());
        assertThat(executor.cacheSize(cache.volume()).orElseThrow()).isBetween(3_000_000L, 3_200_000L);
        assertThat(executor.removeCache(cache.volume())).isTrue();
        assertThat(executor.cacheVolumes()).doesNotContain(cache.volume());
        assertThat(executor.cacheSize(cache.volume())).isEmpty();
    }
}
