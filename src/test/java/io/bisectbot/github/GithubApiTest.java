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
import com.zaxxer.hikari.HikariDataSource;
import io.bisectbot.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;

class GithubApiTest {

    private static final HikariDataSource database = TestDatabase.migrated();
    private final WireMockServer github = new WireMockServer(options().dynamicPort());
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private GithubApi api;

    @AfterAll
    static void closeDatabase() {
        database.close();
    }

    @BeforeEach
    void start() {
        // Pauses and budgets are shared through the database: each test starts with none.
        JdbcClient.create(database).sql("TRUNCATE github_rate_budget").update();
        github.start();
        github.stubFor(post(urlPathMatching("/app/installations/\\d+/access_tokens"))
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"token\":\"ghs_x\",\"expires_at\":\""
                                + Instant.now().plus(Duration.ofHours(1)) + "\"}")));
        api = api(Duration.ofMillis(10), Duration.ofSeconds(5));
    }

    GithubApi api(Duration spacing, Duration maxWait) {
        var d = GithubProperties.defaults();
        var properties = new GithubProperties(
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
                spacing,
                2,
                maxWait,
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
                d.writesPerMinute(),
                d.writesPerHour(),
                d.maxConcurrentRequests());
        var json = JsonMapper.builder().build();
        var auth = new AppAuth(1L, properties.privateKeyPem(), Clock.systemUTC(), json);
        var budget = new RateBudget(
                database,
                properties.writesPerMinute(),
                properties.writesPerHour(),
                properties.maxConcurrentRequests(),
                GithubApi.SLOT_LEASE);
        return new GithubApi(properties, auth, json, Clock.systemUTC(), registry, budget);
    }

    @AfterEach
    void stop() {
        github.stop();
    }

    @Test
    void retries_idempotent_requests_after_5xx_but_not_posts() {
        github.stubFor(get(urlPathEqualTo("/x"))
                .inScenario("s")
                .whenScenarioStateIs(Scenario.STARTED)
                .willSetStateTo("two")
                .willReturn(aResponse().withStatus(502)));
        github.stubFor(get(urlPathEqualTo("/x"))
                .inScenario("s")
                .whenScenarioStateIs("two")
                .willSetStateTo("three")
                .willReturn(aResponse().withStatus(503)));
        github.stubFor(get(urlPathEqualTo("/x"))
                .inScenario("s")
                .whenScenarioStateIs("three")
                .willReturn(okJson("{\"ok\":true}")));
        assertThat(api.get(1, "x").body().get("ok").asBoolean()).isTrue();
        github.verify(3, getRequestedFor(urlPathEqualTo("/x")));

        github.stubFor(post(urlPathEqualTo("/y")).willReturn(aResponse().withStatus(502)));
        assertThat(api.post(1, "y", JsonNodeFactory.instance.objectNode()).status())
                .isEqualTo(502);
        github.verify(1, postRequestedFor(urlPathEqualTo("/y")));
        assertThat(registry.get("bisectbot.github.api.calls")
                        .tag("status", "502")
                        .counter()
                        .count())
                .isEqualTo(2);
    }

    @Test
    void a_primary_rate_limit_waits_for_the_reset_or_hands_it_to_the_caller() {
        var reset = Instant.now().plusSeconds(3600).getEpochSecond();
        github.stubFor(get(urlPathEqualTo("/limited"))
                .willReturn(aResponse()
                        .withStatus(403)
                        .withHeader("X-RateLimit-Remaining", "0")
                        .withHeader("X-RateLimit-Reset", Long.toString(reset))
                        .withBody("{\"message\":\"API rate limit exceeded\"}")));
        assertThatThrownBy(() -> api.get(1, "limited"))
                .isInstanceOfSatisfying(
                        GithubApi.RateLimited.class,
                        e -> assertThat(e.retryAt.getEpochSecond()).isEqualTo(reset + 1));
        // The installation stays blocked: no request is sent until the reset.
        assertThatThrownBy(() -> api.get(1, "other")).isInstanceOf(GithubApi.RateLimited.class);
        github.verify(0, getRequestedFor(urlPathEqualTo("/other")));
        assertThat(registry.get("bisectbot.github.rate.limit.remaining").gauge().value())
                .isZero();
        assertThat(registry.get("bisectbot.github.rate.limit.waits").counter().count())
                .isEqualTo(1);
    }

    @Test
    void a_rate_limit_without_headers_waits_at_least_a_minute_and_retry_after_is_honoured() {
        github.stubFor(post(urlPathEqualTo("/secondary"))
                .willReturn(aResponse()
                        .withStatus(403)
                        .withBody("{\"message\":\"You have exceeded a secondary rate limit\"}")));
        var before = Instant.now();
        assertThatThrownBy(() -> api.post(2, "secondary", JsonNodeFactory.instance.objectNode()))
                .isInstanceOfSatisfying(
                        GithubApi.RateLimited.class,
                        e -> assertThat(e.retryAt).isAfterOrEqualTo(before.plusSeconds(60)));

        github.stubFor(get(urlPathEqualTo("/later"))
                .inScenario("r")
                .whenScenarioStateIs(Scenario.STARTED)
                .willSetStateTo("ok")
                .willReturn(aResponse().withStatus(429).withHeader("Retry-After", "1")));
        github.stubFor(get(urlPathEqualTo("/later"))
                .inScenario("r")
                .whenScenarioStateIs("ok")
                .willReturn(okJson("{}")));
        var start = System.nanoTime();
        assertThat(api.get(3, "later").status()).isEqualTo(200);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(900));
    }

    @Test
    void a_plain_403_is_an_answer_not_a_rate_limit() {
        github.stubFor(get(urlPathEqualTo("/forbidden"))
                .willReturn(aResponse()
                        .withStatus(403)
                        .withHeader("X-RateLimit-Remaining", "4000")
                        .withBody("{\"message\":\"Resource not accessible by integration\"}")));
        assertThat(api.get(1, "forbidden").status()).isEqualTo(403);
        github.verify(1, getRequestedFor(urlPathEqualTo("/forbidden")));
    }

    @Test
    void content_creating_requests_of_one_installation_are_spaced() {
        var spaced = api(Duration.ofMillis(400), Duration.ofSeconds(5));
        github.stubFor(post(urlPathEqualTo("/comment")).willReturn(okJson("{}")));
        var start = System.nanoTime();
        for (int i = 0; i < 3; i++) {
            spaced.post(5, "comment", JsonNodeFactory.instance.objectNode());
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(800));
        start = System.nanoTime();
        spaced.post(6, "comment", JsonNodeFactory.instance.objectNode());
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(400));
    }

    @Test
    void lists_follow_the_next_links() {
        github.stubFor(get(urlPathEqualTo("/items"))
                .willReturn(okJson("[{\"n\":1},{\"n\":2}]")
                        .withHeader(
                                "Link",
                                "<" + github.baseUrl() + "/items2?page=2>; rel=\"next\", <" + github.baseUrl()
                                        + "/items2?page=2>; rel=\"last\"")));
        github.stubFor(get(urlPathEqualTo("/items2")).willReturn(okJson("[{\"n\":3}]")));
        assertThat(api.getAll(1, "items")).extracting(n -> n.get("n").asInt()).containsExactly(1, 2, 3);
    }
}
