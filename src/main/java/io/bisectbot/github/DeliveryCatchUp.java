package io.bisectbot.github;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.ConnectionCallback;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.support.SqlArrayValue;
import tools.jackson.databind.JsonNode;

/**
 * GitHub does not retry a webhook delivery that failed, so events sent while every instance was down (or answered
 * 5xx) are lost unless the App asks for them again. On start and every {@code GITHUB_CATCH_UP_INTERVAL}, one
 * instance at a time (a session advisory lock held for the pass) lists the App's recent deliveries
 * ({@code GET /app/hook/deliveries}, as the App, newest first, paged by the {@code cursor} of the Link header) back to
 * {@code GITHUB_CATCH_UP_WINDOW} (GitHub keeps three days), and asks GitHub to redeliver
 * ({@code POST /app/hook/deliveries/{id}/attempts}) each delivery none of whose attempts succeeded and whose guid
 * (the {@code X-GitHub-Delivery} header) is not stored in {@code github_deliveries}, at most
 * {@code GITHUB_CATCH_UP_MAX_PER_MINUTE}. A redelivery is an ordinary webhook, deduplicated like every other.
 */
final class DeliveryCatchUp {

    private static final Logger log = LoggerFactory.getLogger(DeliveryCatchUp.class);
    /** Advisory lock key of the catch-up pass ("bisectbot catch-up"); not a worker key, which are hashes. */
    static final long LOCK_KEY = 0x6269_7365_6374_6375L;
    /** A guid GitHub already redelivered this often without success is left alone (our answer is the problem). */
    private static final int MAX_ATTEMPTS_PER_GUID = 3;

    private static final int MAX_PAGES = 50;

    private final GithubApi api;
    private final JdbcTemplate template;
    private final JdbcClient jdbc;
    private final GithubProperties properties;
    private final Clock clock;
    private final Counter requested;
    private final Counter requestFailures;

    DeliveryCatchUp(
            GithubApi api, DataSource dataSource, GithubProperties properties, Clock clock, MeterRegistry registry) {
        this.api = api;
        this.template = new JdbcTemplate(dataSource);
        this.jdbc = JdbcClient.create(dataSource);
        this.properties = properties;
        this.clock = clock;
        this.requested = Counter.builder("bisectbot.github.deliveries.recovered")
                .description("Failed webhook deliveries that were not stored and whose redelivery GitHub accepted")
                .register(registry);
        this.requestFailures = Counter.builder("bisectbot.github.deliveries.recovery.failures")
                .description("Redelivery requests GitHub refused or that failed")
                .register(registry);
    }

    /** One pass, unless another instance is running one; returns how many redeliveries GitHub accepted. */
    int runOnce() {
        Integer accepted = template.execute((ConnectionCallback<Integer>) conn -> {
            try (var lock = conn.prepareStatement("SELECT pg_try_advisory_lock(?)")) {
                lock.setLong(1, LOCK_KEY);
                try (var rs = lock.executeQuery()) {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        return -1;
                    }
                }
            }
            try {
                return pass();
            } finally {
                try (var unlock = conn.prepareStatement("SELECT pg_advisory_unlock(?)")) {
                    unlock.setLong(1, LOCK_KEY);
                    unlock.execute();
                }
            }
        });
        return accepted == null || accepted < 0 ? 0 : accepted;
    }

    private record Attempt(long id, String guid, Instant deliveredAt, boolean succeeded, String event) {}

    private int pass() {
        var since = clock.instant().minus(properties.catchUpWindow());
        var byGuid = new LinkedHashMap<String, List<Attempt>>();
        String next = "app/hook/deliveries?per_page=100";
        for (int page = 0; next != null && page < MAX_PAGES; page++) {
            var response = GithubApi.require(api.asApp("GET", next), "list the App's webhook deliveries");
            var reachedWindow = false;
            for (var item : response.body()) {
                var attempt = attempt(item);
                if (attempt.deliveredAt().isBefore(since)) {
                    reachedWindow = true;
                    continue;
                }
                byGuid.computeIfAbsent(attempt.guid(), g -> new ArrayList<>()).add(attempt);
            }
            next = reachedWindow
                    ? null
                    : response.headers()
                            .firstValue("Link")
                            .map(GithubApi::nextLink)
                            .orElse(null);
        }
        var failed = new LinkedHashMap<String, Attempt>();
        byGuid.forEach((guid, attempts) -> {
            if (attempts.stream().noneMatch(Attempt::succeeded) && attempts.size() <= MAX_ATTEMPTS_PER_GUID) {
                // Newest first: the first attempt listed is the latest.
                failed.put(guid, attempts.getFirst());
            }
        });
        if (failed.isEmpty()) {
            return 0;
        }
        var stored = new HashSet<>(jdbc.sql("SELECT delivery_id FROM github_deliveries WHERE delivery_id = ANY(:ids)")
                .param("ids", new SqlArrayValue("text", failed.keySet().toArray()))
                .query(String.class)
                .list());
        var spacing = Duration.ofMinutes(1).dividedBy(Math.max(1, properties.catchUpMaxPerMinute()));
        int accepted = 0;
        for (Map.Entry<String, Attempt> entry : failed.entrySet()) {
            if (stored.contains(entry.getKey()) || Thread.currentThread().isInterrupted()) {
                continue;
            }
            var attempt = entry.getValue();
            try {
                var answer = api.asApp("POST", "app/hook/deliveries/" + attempt.id() + "/attempts");
                if (answer.status() / 100 == 2) {
                    accepted++;
                    requested.increment();
                    log.info(
                            "Asked GitHub to redeliver {} delivery {} (failed at {}, not stored)",
                            attempt.event(),
                            attempt.guid(),
                            attempt.deliveredAt());
                } else {
                    requestFailures.increment();
                    log.warn("GitHub answered {} to the redelivery of delivery {}", answer.status(), attempt.guid());
                }
            } catch (GithubApi.ApiException | GithubApi.RateLimited e) {
                requestFailures.increment();
                log.warn("Could not ask for the redelivery of delivery {}: {}", attempt.guid(), e.getMessage());
            }
            try {
                Thread.sleep(spacing);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (accepted > 0) {
            log.info("Catch-up: {} failed deliveries redelivered", accepted);
        }
        return accepted;
    }

    private static Attempt attempt(JsonNode item) {
        var code = item.path("status_code").asInt(0);
        return new Attempt(
                item.path("id").asLong(),
                item.path("guid").asString(""),
                OffsetDateTime.parse(item.path("delivered_at").asString()).toInstant(),
                code >= 200 && code < 300,
                item.path("event").asString(""));
    }
}
