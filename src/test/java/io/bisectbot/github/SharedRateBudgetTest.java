package io.bisectbot.github;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.stubbing.Scenario;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.bisectbot.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * Two instances (each its own GithubApi, pool and outbox deliverer) on one database share GitHub's secondary rate
 * limits per installation: the write budget, the cap on requests in flight and the pauses GitHub asks for.
 */
class SharedRateBudgetTest {

    private static final JsonMapper json = JsonMapper.builder().build();
    private static final HikariDataSource database = TestDatabase.migrated();
    private static final String SECONDARY = """
            {"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again. \
            If you reach out to GitHub Support for help, please include the request ID 0C3A:1F7E:9E2B1C:A3D4F2:674D1B2E.",\
            "documentation_url":"https://docs.github.com/free-pro-team@latest/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits",\
            "status":"403"}""";

    private final WireMockServer github =
            new WireMockServer(options().dynamicPort().containerThreads(40));
    private final List<HikariDataSource> pools = new ArrayList<>();
    private final List<SimpleMeterRegistry> registries = new ArrayList<>();

    @AfterAll
    static void closeDatabase() {
        database.close();
    }

    @BeforeEach
    void start() {
        JdbcClient.create(database)
                .sql("TRUNCATE github_rate_budget, github_outbox")
                .update();
        github.start();
        github.stubFor(post(urlPathMatching("/app/installations/\\d+/access_tokens"))
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"token\":\"ghs_x\",\"expires_at\":\""
                                + Instant.now().plus(Duration.ofHours(1)) + "\"}")));
    }

    @AfterEach
    void stop() {
        github.stop();
        pools.forEach(HikariDataSource::close);
    }

    private GithubProperties properties(int perMinute, int perHour, int concurrent) {
        var d = GithubProperties.defaults();
        return new GithubProperties(
                1L,
                null,
                AppAuthTest.pkcs8Pem(),
                null,
                List.of(),
                URI.create(github.baseUrl()),
                d.publicUrl(),
                d.maxQueueSize(),
                d.maxPayloadBytes(),
                d.deliveryRetention(),
                d.cleanupInterval(),
                Duration.ZERO,
                0,
                Duration.ofSeconds(10),
                d.outboxPollInterval(),
                d.outboxMaxAttempts(),
                d.outboxBackoffBase(),
                d.outboxBackoffMax(),
                d.outboxLease(),
                d.checkName(),
                d.bisectImage(),
                d.bisectTimeout(),
                d.permissionCacheTtl(),
                d.outboxRetryFor(),
                d.deliveryRetryFor(),
                d.catchUpInterval(),
                d.catchUpWindow(),
                d.catchUpMaxPerMinute(),
                perMinute,
                perHour,
                concurrent);
    }

    /** One instance's client: its own pool on the shared database (or {@code dataSource}), its own clock. */
    private GithubApi instance(GithubProperties properties, Clock clock, DataSource dataSource) {
        var pool = dataSource != null ? dataSource : ownPool();
        var registry = new SimpleMeterRegistry();
        registries.add(registry);
        var budget = new RateBudget(
                pool,
                properties.writesPerMinute(),
                properties.writesPerHour(),
                properties.maxConcurrentRequests(),
                GithubApi.SLOT_LEASE);
        return new GithubApi(
                properties, new AppAuth(1L, properties.privateKeyPem(), clock, json), json, clock, registry, budget);
    }

    private HikariDataSource ownPool() {
        var pool = TestDatabase.pool(database.getJdbcUrl(), 10);
        pools.add(pool);
        return pool;
    }

    private double budgetWaits(String reason) {
        return registries.stream()
                .mapToDouble(r -> r.find("bisectbot.github.budget.waits").tag("reason", reason).counters().stream()
                        .mapToDouble(c -> c.count())
                        .sum())
                .sum();
    }

    @Test
    void two_instances_together_never_send_more_writes_in_a_minute_than_the_budget() throws Exception {
        github.stubFor(post(urlPathEqualTo("/repos/acme/app/issues/1/comments"))
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"id\":5}")));
        var properties = properties(5, 100, 40);
        var apis = List.of(
                instance(properties, Clock.systemUTC(), null).rescheduling(),
                instance(properties, Clock.systemUTC(), null).rescheduling());
        var sent = new AtomicInteger();
        var refused = new AtomicInteger();
        var tasks = new ArrayList<Callable<Void>>();
        for (int t = 0; t < 8; t++) {
            var api = apis.get(t % 2);
            tasks.add(() -> {
                for (int i = 0; i < 5; i++) {
                    try {
                        api.post(
                                7,
                                "repos/acme/app/issues/1/comments",
                                JsonNodeFactory.instance.objectNode().put("body", "x"));
                        sent.incrementAndGet();
                    } catch (GithubApi.RateLimited e) {
                        // The caller learns when it may try again: when the database's minute ends.
                        assertThat(e.retryAt)
                                .isBetween(
                                        Instant.now().plusSeconds(30),
                                        Instant.now().plusSeconds(61));
                        refused.incrementAndGet();
                    }
                }
                return null;
            });
        }
        try (var pool = Executors.newFixedThreadPool(8)) {
            for (var f : pool.invokeAll(tasks)) {
                f.get();
            }
        }
        assertThat(sent.get()).isEqualTo(5);
        assertThat(refused.get()).isEqualTo(35);
        github.verify(5, postRequestedFor(urlPathEqualTo("/repos/acme/app/issues/1/comments")));
        assertThat(budgetWaits("minute")).isEqualTo(35);

        // Another installation has a budget of its own.
        apis.get(1)
                .post(
                        8,
                        "repos/acme/app/issues/1/comments",
                        JsonNodeFactory.instance.objectNode().put("body", "y"));
        github.verify(6, postRequestedFor(urlPathEqualTo("/repos/acme/app/issues/1/comments")));
    }

    @Test
    void outbox_rows_past_the_budget_are_rescheduled_to_the_end_of_the_window_not_retried_in_a_loop() {
        github.stubFor(get(urlPathEqualTo("/repos/acme/app/issues/3/comments")).willReturn(okJson("[]")));
        github.stubFor(post(urlPathEqualTo("/repos/acme/app/issues/3/comments"))
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"id\":9}")));
        var properties = properties(3, 100, 40);
        var outbox = new Outbox(ownPool(), json, Clock.systemUTC());
        for (int i = 0; i < 6; i++) {
            outbox.add(
                    "comment:" + i,
                    7,
                    Outbox.COMMENT,
                    JsonNodeFactory.instance
                            .objectNode()
                            .put("owner", "acme")
                            .put("repo", "app")
                            .put("issue_number", 3)
                            .put("marker", "<!-- m" + i + " -->")
                            .put("body", "b" + i),
                    null);
        }
        var one = new OutboxDelivery(
                outbox,
                instance(properties, Clock.systemUTC(), null).rescheduling(),
                properties,
                Clock.systemUTC(),
                "one");
        var two = new OutboxDelivery(
                outbox,
                instance(properties, Clock.systemUTC(), null).rescheduling(),
                properties,
                Clock.systemUTC(),
                "two");
        assertThat(one.deliverDue()).isEqualTo(6);
        // Nothing is due any more: the other instance claims nothing and sends nothing.
        assertThat(two.deliverDue()).isZero();
        github.verify(3, postRequestedFor(urlPathEqualTo("/repos/acme/app/issues/3/comments")));
        var rows = JdbcClient.create(database)
                .sql("""
                        SELECT status, attempts, last_error, extract(epoch FROM next_attempt_at - now()) AS due_in
                          FROM github_outbox ORDER BY id""")
                .query((rs, n) -> List.of(
                        rs.getString("status"),
                        rs.getInt("attempts"),
                        String.valueOf(rs.getString("last_error")),
                        rs.getDouble("due_in")))
                .list();
        assertThat(rows)
                .extracting(r -> r.get(0))
                .containsExactly("DONE", "DONE", "DONE", "PENDING", "PENDING", "PENDING");
        for (var row : rows.subList(3, 6)) {
            assertThat(row.get(1)).isEqualTo(0);
            assertThat(row.get(2)).isEqualTo("rate limited");
            assertThat((double) row.get(3)).isBetween(30.0, 61.0);
        }
    }

    @Test
    void a_secondary_rate_limit_seen_by_one_instance_pauses_the_installation_on_the_other() {
        github.stubFor(post(urlPathEqualTo("/repos/acme/app/check-runs"))
                .willReturn(aResponse()
                        .withStatus(403)
                        .withHeader("Content-Type", "application/json; charset=utf-8")
                        .withHeader("Retry-After", "30")
                        .withHeader("X-RateLimit-Remaining", "4987")
                        .withBody(SECONDARY)));
        github.stubFor(get(urlPathEqualTo("/repos/acme/app")).willReturn(okJson("{}")));
        var properties = properties(35, 240, 40);
        var first = instance(properties, Clock.systemUTC(), null).rescheduling();
        var second = instance(properties, Clock.systemUTC(), null).rescheduling();

        var before = Instant.now();
        assertThatThrownBy(() -> first.post(7, "repos/acme/app/check-runs", JsonNodeFactory.instance.objectNode()))
                .isInstanceOfSatisfying(
                        GithubApi.RateLimited.class,
                        e -> assertThat(e.retryAt).isBetween(before.plusSeconds(28), before.plusSeconds(32)));
        // The other instance sends nothing for that installation, neither writes nor reads, until then.
        assertThatThrownBy(() -> second.post(7, "repos/acme/app/check-runs", JsonNodeFactory.instance.objectNode()))
                .isInstanceOfSatisfying(
                        GithubApi.RateLimited.class,
                        e -> assertThat(e.retryAt).isBetween(before.plusSeconds(28), before.plusSeconds(32)));
        assertThatThrownBy(() -> second.get(7, "repos/acme/app")).isInstanceOf(GithubApi.RateLimited.class);
        github.verify(1, postRequestedFor(urlPathEqualTo("/repos/acme/app/check-runs")));
        github.verify(0, getRequestedFor(urlPathEqualTo("/repos/acme/app")));
        assertThat(budgetWaits("paused")).isEqualTo(1);
        assertThat(second.get(8, "repos/acme/app").status()).isEqualTo(200);
        var reason = JdbcClient.create(database)
                .sql("SELECT pause_reason FROM github_rate_budget WHERE installation_id = 7")
                .query(String.class)
                .single();
        assertThat(reason).startsWith("You have exceeded a secondary rate limit");
    }

    @Test
    void a_429_with_retry_after_makes_the_other_instance_wait_then_send() {
        github.stubFor(post(urlPathEqualTo("/repos/acme/app/issues/2/comments"))
                .inScenario("r")
                .whenScenarioStateIs(Scenario.STARTED)
                .willSetStateTo("ok")
                .willReturn(aResponse()
                        .withStatus(429)
                        .withHeader("Retry-After", "2")
                        .withBody(SECONDARY)));
        github.stubFor(post(urlPathEqualTo("/repos/acme/app/issues/2/comments"))
                .inScenario("r")
                .whenScenarioStateIs("ok")
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"id\":1}")));
        var properties = properties(35, 240, 40);
        var first = instance(properties, Clock.systemUTC(), null).rescheduling();
        var second = instance(properties, Clock.systemUTC(), null);
        assertThatThrownBy(
                        () -> first.post(9, "repos/acme/app/issues/2/comments", JsonNodeFactory.instance.objectNode()))
                .isInstanceOf(GithubApi.RateLimited.class);
        var start = System.nanoTime();
        assertThat(second.post(9, "repos/acme/app/issues/2/comments", JsonNodeFactory.instance.objectNode())
                        .status())
                .isEqualTo(201);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(1500));
        github.verify(2, postRequestedFor(urlPathEqualTo("/repos/acme/app/issues/2/comments")));
    }

    @Test
    void the_cap_on_requests_in_flight_holds_across_instances() throws Exception {
        github.stubFor(get(urlPathEqualTo("/slow")).willReturn(okJson("{}").withFixedDelay(300)));
        var properties = properties(35, 240, 2);
        var apis =
                List.of(instance(properties, Clock.systemUTC(), null), instance(properties, Clock.systemUTC(), null));
        var tasks = new ArrayList<Callable<Integer>>();
        for (int t = 0; t < 6; t++) {
            var api = apis.get(t % 2);
            tasks.add(() -> api.get(11, "slow").status() + api.get(11, "slow").status());
        }
        try (var pool = Executors.newFixedThreadPool(6)) {
            for (var f : pool.invokeAll(tasks)) {
                assertThat(f.get()).isEqualTo(400);
            }
        }
        // GitHub's view: the intervals during which it served each request never overlap more than two at a time.
        var events = new ArrayList<long[]>();
        for (var event : github.getAllServeEvents()) {
            if (event.getRequest().getUrl().startsWith("/slow")) {
                var startMs = event.getRequest().getLoggedDate().getTime();
                events.add(new long[] {startMs, +1});
                events.add(new long[] {startMs + event.getTiming().getTotalTime(), -1});
            }
        }
        assertThat(events).hasSize(24);
        events.sort((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
        int inFlight = 0;
        int most = 0;
        for (var e : events) {
            inFlight += (int) e[1];
            most = Math.max(most, inFlight);
        }
        assertThat(most).isLessThanOrEqualTo(2);
        assertThat(budgetWaits("concurrent")).isPositive();
        var leftInFlight = JdbcClient.create(database)
                .sql("SELECT cardinality(in_flight) FROM github_rate_budget WHERE installation_id = 11")
                .query(Integer.class)
                .single();
        assertThat(leftInFlight).isZero();
    }

    @Test
    void a_window_resets_by_the_database_clock_not_the_instance_clock() {
        github.stubFor(post(urlPathEqualTo("/w")).willReturn(aResponse().withStatus(201)));
        // This instance's clock runs two hours ahead: if it decided, every window would long be over.
        var ahead = Clock.offset(Clock.systemUTC(), Duration.ofHours(2));
        var api = instance(properties(2, 3, 40), ahead, null).rescheduling();
        api.post(4, "w", JsonNodeFactory.instance.objectNode());
        api.post(4, "w", JsonNodeFactory.instance.objectNode());
        assertThatThrownBy(() -> api.post(4, "w", JsonNodeFactory.instance.objectNode()))
                .isInstanceOfSatisfying(
                        GithubApi.RateLimited.class,
                        e -> assertThat(e.retryAt)
                                .isBetween(
                                        ahead.instant().plusSeconds(50),
                                        ahead.instant().plusSeconds(61)));
        github.verify(2, postRequestedFor(urlPathEqualTo("/w")));

        // A minute passes as the database sees it.
        JdbcClient.create(database).sql("""
                UPDATE github_rate_budget SET minute_start = minute_start - interval '61 seconds' WHERE installation_id = 4""").update();
        api.post(4, "w", JsonNodeFactory.instance.objectNode());
        // The hour's budget (3) is spent: the next write waits for the database's hour to end.
        assertThatThrownBy(() -> api.post(4, "w", JsonNodeFactory.instance.objectNode()))
                .isInstanceOfSatisfying(
                        GithubApi.RateLimited.class,
                        e -> assertThat(e.retryAt).isAfter(ahead.instant().plus(Duration.ofMinutes(55))));
        github.verify(3, postRequestedFor(urlPathEqualTo("/w")));
        assertThat(budgetWaits("minute")).isEqualTo(1);
        assertThat(budgetWaits("hour")).isEqualTo(1);
    }

    @Test
    void without_the_database_no_write_is_sent_and_reads_go_on() {
        github.stubFor(post(urlPathEqualTo("/w")).willReturn(aResponse().withStatus(201)));
        github.stubFor(get(urlPathEqualTo("/r")).willReturn(okJson("{}")));
        var config = new HikariConfig();
        // A port nothing listens on: the database is unreachable.
        config.setJdbcUrl("jdbc:postgresql://127.0.0.1:1/bisectbot");
        config.setConnectionTimeout(500);
        config.setInitializationFailTimeout(-1);
        var unreachable = new HikariDataSource(config);
        pools.add(unreachable);
        var api = instance(properties(35, 240, 40), Clock.systemUTC(), unreachable)
                .rescheduling();
        var before = Instant.now();
        assertThatThrownBy(() -> api.post(4, "w", JsonNodeFactory.instance.objectNode()))
                .isInstanceOfSatisfying(
                        GithubApi.RateLimited.class, e -> assertThat(e.retryAt).isAfter(before));
        assertThatThrownBy(() -> api.post(4, "w", JsonNodeFactory.instance.objectNode()))
                .isInstanceOf(GithubApi.RateLimited.class);
        github.verify(0, postRequestedFor(urlPathEqualTo("/w")));
        assertThat(api.get(4, "r").status()).isEqualTo(200);
        assertThat(registries
                        .getLast()
                        .get("bisectbot.github.budget.unavailable")
                        .counter()
                        .count())
                .isGreaterThanOrEqualTo(3);
    }
}
