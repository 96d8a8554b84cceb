package io.bisectbot.queue;

import static io.bisectbot.queue.QueueFixture.fastProperties;
import static io.bisectbot.queue.QueueFixture.handler;
import static io.bisectbot.queue.QueueFixture.job;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FairShareTest {

    private final QueueFixture fixture = new QueueFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    /** The production SQL with the given caps (0: none), claiming at {@code now}. */
    private JobRepository repository(int maxPending, int maxRunning) {
        return new JobRepository(fixture.admin, QueueFixture.JSON, maxPending, maxRunning);
    }

    private static List<Long> ids(List<Job> jobs) {
        return jobs.stream().map(Job::id).toList();
    }

    @Test
    void a_tenants_first_job_is_claimed_in_the_first_round_behind_another_tenants_thousand_queued_jobs() {
        var repository = repository(0, 0);
        var now = Instant.now();
        var flood = new ArrayList<NewJob>();
        for (int i = 0; i < 1000; i++) {
            flood.add(job("noop").withTenant("installation:1").withRunAt(now.minusSeconds(60)));
        }
        var floodIds = repository.enqueueAll(flood, now);
        var first = repository
                .enqueue(job("noop").withTenant("installation:2"), now)
                .job();

        var claimed = ids(repository.claim("w1", 4, List.of(), now.plusSeconds(1)));

        assertThat(claimed).hasSize(4).contains(first.id());
        assertThat(claimed).containsAll(floodIds.subList(0, 3));
        assertThat(fixture.eventTypes(first.id())).containsExactly("claimed");
        assertThat(repository.find(first.id()).orElseThrow().tenant()).isEqualTo("installation:2");
    }

    @Test
    void jobs_without_a_tenant_are_one_group_claimed_in_priority_run_at_id_order_as_before() {
        var repository = repository(0, 0);
        var now = Instant.now();
        var late = repository
                .enqueue(job("noop").withRunAt(now.minusSeconds(10)), now)
                .job()
                .id();
        var early = repository
                .enqueue(job("noop").withRunAt(now.minusSeconds(20)), now)
                .job()
                .id();
        var urgent = repository.enqueue(priority(job("noop"), -1), now).job().id();
        var excluded = repository
                .enqueue(job("other").withRunAt(now.minusSeconds(30)), now)
                .job()
                .id();
        var future = repository
                .enqueue(job("noop").withRunAt(now.plusSeconds(60)), now)
                .job()
                .id();

        var claimed = repository.claim("w1", 10, List.of("other"), now.plusSeconds(1));

        assertThat(ids(claimed)).containsExactly(urgent, early, late);
        assertThat(claimed).allSatisfy(j -> {
            assertThat(j.status()).isEqualTo(JobStatus.RUNNING);
            assertThat(j.workerId()).isEqualTo("w1");
            assertThat(j.attemptCount()).isEqualTo(1);
            assertThat(j.tenant()).isNull();
        });
        assertThat(fixture.status(excluded)).isEqualTo(JobStatus.PENDING);
        assertThat(fixture.status(future)).isEqualTo(JobStatus.PENDING);
    }

    @Test
    void priority_comes_before_fair_share_and_jobs_without_a_tenant_take_turns_like_a_tenant() {
        var repository = repository(0, 0);
        var now = Instant.now().minusSeconds(60);
        var a1 = repository
                .enqueue(job("noop").withTenant("a").withRunAt(now), now)
                .job()
                .id();
        var a2 = repository
                .enqueue(job("noop").withTenant("a").withRunAt(now.plusMillis(1)), now)
                .job()
                .id();
        var none1 = repository
                .enqueue(job("noop").withRunAt(now.plusMillis(2)), now)
                .job()
                .id();
        var none2 = repository
                .enqueue(job("noop").withRunAt(now.plusMillis(3)), now)
                .job()
                .id();
        var bUrgent = repository
                .enqueue(priority(job("noop").withTenant("b"), -5).withRunAt(now.plusMillis(4)), now)
                .job()
                .id();
        var b2 = repository
                .enqueue(job("noop").withTenant("b").withRunAt(now.plusMillis(5)), now)
                .job()
                .id();

        // The best priority first, whoever it belongs to; then every group's first job, then every group's second.
        assertThat(ids(repository.claim("w1", 1, List.of(), Instant.now()))).containsExactly(bUrgent);
        assertThat(ids(repository.claim("w1", 3, List.of(), Instant.now()))).containsExactly(a1, none1, b2);
        assertThat(ids(repository.claim("w1", 3, List.of(), Instant.now()))).containsExactly(a2, none2);
    }

    @Test
    void concurrent_claims_never_take_a_tenant_past_its_running_cap() throws Exception {
        var repository = repository(0, 3);
        var now = Instant.now();
        var jobs = new ArrayList<NewJob>();
        for (int i = 0; i < 40; i++) {
            jobs.add(job("noop").withTenant("installation:7"));
        }
        repository.enqueueAll(jobs, now);
        var claimers = 8;
        var barrier = new CyclicBarrier(claimers);
        var pools = new ArrayList<com.zaxxer.hikari.HikariDataSource>();
        try (var threads = Executors.newFixedThreadPool(claimers)) {
            var results = new ArrayList<Future<Integer>>();
            for (int i = 0; i < claimers; i++) {
                var pool = io.bisectbot.TestDatabase.pool(fixture.jdbcUrl, 1);
                pools.add(pool);
                var own = new JobRepository(pool, QueueFixture.JSON, 0, 3);
                var worker = "w" + i;
                results.add(threads.submit(() -> {
                    barrier.await();
                    return own.claim(worker, 4, List.of(), now.plusSeconds(1)).size();
                }));
            }
            var total = 0;
            for (var result : results) {
                total += result.get();
            }
            assertThat(total).isEqualTo(3);
        } finally {
            pools.forEach(com.zaxxer.hikari.HikariDataSource::close);
        }
        assertThat(fixture.sql
                        .sql("SELECT count(*) FROM jobs WHERE status = 'RUNNING'")
                        .query(Long.class)
                        .single())
                .isEqualTo(3);
    }

    @Test
    void two_workers_together_run_no_more_of_a_tenants_jobs_than_its_cap_while_other_tenants_run_too()
            throws Exception {
        var release = new CountDownLatch(1);
        var runningNow = new ConcurrentHashMap<String, AtomicInteger>();
        var mostAtOnce = new ConcurrentHashMap<String, AtomicInteger>();
        var blocking = handler("block", context -> {
            var tenant = context.job().tenant();
            var now =
                    runningNow.computeIfAbsent(tenant, t -> new AtomicInteger()).incrementAndGet();
            mostAtOnce.computeIfAbsent(tenant, t -> new AtomicInteger()).accumulateAndGet(now, Math::max);
            try {
                release.await();
            } finally {
                runningNow.get(tenant).decrementAndGet();
            }
            return JobOutcome.succeeded(null);
        });
        var w1 = fixture.node(fastProperties("w1").withTenantCaps(0, 2), blocking);
        var w2 = fixture.node(fastProperties("w2").withTenantCaps(0, 2), blocking);
        var jobs = new ArrayList<NewJob>();
        for (int i = 0; i < 8; i++) {
            jobs.add(job("block").withTenant("installation:1"));
        }
        jobs.add(job("block").withTenant("installation:2"));
        var ids = w1.queue().enqueueAll(jobs);
        w1.start();
        w2.start();

        await().atMost(Duration.ofSeconds(10))
                .until(() -> runningNow
                                        .getOrDefault("installation:2", new AtomicInteger())
                                        .get()
                                == 1
                        && runningNow
                                        .getOrDefault("installation:1", new AtomicInteger())
                                        .get()
                                == 2);
        Thread.sleep(1_000); // five poll rounds of both workers, each with free slots
        assertThat(runningNow.get("installation:1").get()).isEqualTo(2);
        assertThat(fixture.sql
                        .sql("SELECT count(*) FROM jobs WHERE status = 'RUNNING' AND tenant = 'installation:1'")
                        .query(Long.class)
                        .single())
                .isEqualTo(2);

        release.countDown();
        await().atMost(Duration.ofSeconds(20))
                .until(() -> ids.stream().allMatch(id -> fixture.status(id) == JobStatus.SUCCEEDED));
        assertThat(mostAtOnce.get("installation:1").get()).isEqualTo(2);
    }

    @Test
    void an_enqueue_over_a_tenants_pending_cap_is_refused_with_a_clear_message_and_others_are_not() {
        var node = fixture.node(
                fastProperties("enqueuer").withTenantCaps(3, 0),
                handler("noop", context -> JobOutcome.succeeded(null)));
        var queue = node.queue();
        var kept = queue.enqueue(job("noop").withTenant("installation:5").withDedupKey("first"))
                .job();
        queue.enqueueAll(
                List.of(job("noop").withTenant("installation:5"), job("noop").withTenant("installation:5")));

        assertThatThrownBy(() -> queue.enqueue(job("noop").withTenant("installation:5")))
                .isInstanceOf(JobQueue.TenantOverCap.class)
                .hasMessage("tenant installation:5 has 3 pending jobs; one more would exceed its cap of 3 "
                        + "(MAX_PENDING_PER_INSTALLATION); enqueue again when some have run")
                .satisfies(
                        e -> assertThat(((JobQueue.TenantOverCap) e).tenant()).isEqualTo("installation:5"));
        assertThatThrownBy(() -> queue.enqueueAll(List.of(
                        job("noop").withTenant("installation:6"), job("noop").withTenant("installation:5"))))
                .isInstanceOf(JobQueue.TenantOverCap.class)
                .hasMessageContaining("tenant installation:5 has 3 pending jobs");
        assertThat(fixture.sql
                        .sql("SELECT count(*) FROM jobs WHERE tenant = 'installation:6'")
                        .query(Long.class)
                        .single())
                .as("a refused list enqueues nothing")
                .isZero();

        // A job enqueued again by its dedup key is not new: the existing one comes back, cap or not.
        var again = queue.enqueue(job("noop").withTenant("installation:5").withDedupKey("first"));
        assertThat(again.created()).isFalse();
        assertThat(again.job().id()).isEqualTo(kept.id());
        assertThat(queue.enqueue(job("noop").withTenant("installation:6")).created())
                .isTrue();
        for (int i = 0; i < 5; i++) {
            assertThat(queue.enqueue(job("noop")).created())
                    .as("jobs without a tenant have no cap")
                    .isTrue();
        }
    }

    @Test
    void a_handler_refused_by_a_tenants_pending_cap_is_deferred_without_spending_an_attempt() {
        var node = fixture.node(
                fastProperties("w1").withTenantCaps(1, 0), handler("noop", context -> JobOutcome.succeeded(null)));
        var queue = node.queue();
        queue.enqueue(
                job("noop").withTenant("installation:9").withRunAt(Instant.now().plusSeconds(3600)));
        var spawner = fixture.queue("spawner")
                .enqueue(job("spawner").withMaxAttempts(1))
                .job()
                .id();
        fixture.node(fastProperties("w2"), handler("spawner", context -> {
                    queue.enqueue(job("noop").withTenant("installation:9"));
                    return JobOutcome.succeeded(null);
                }))
                .start();

        await().atMost(Duration.ofSeconds(10))
                .until(() -> fixture.eventTypes(spawner).contains("deferred"));
        var deferred = queue.find(spawner).orElseThrow();
        assertThat(deferred.status()).isEqualTo(JobStatus.PENDING);
        assertThat(deferred.attemptCount()).as("the attempt does not count").isZero();
        assertThat(deferred.runAt()).isAfter(Instant.now().plusSeconds(20));
        assertThat(deferred.lastError()).contains("tenant installation:9 has 1 pending jobs");
        assertThat(fixture.eventTypes(spawner)).containsExactly("claimed", "deferred");
    }

    private static NewJob priority(NewJob job, int priority) {
        return new NewJob(
                job.kind(), job.payload(), priority, job.runAt(), job.maxAttempts(), job.dedupKey(), job.tenant());
    }
}
