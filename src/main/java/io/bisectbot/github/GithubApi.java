package io.bisectbot.github;

import io.bisectbot.loop.Backoff;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessException;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * GitHub's REST API as an installation (or the App) sees it. Retries 5xx answers and network errors with backoff;
 * waits out rate limits ({@code Retry-After}, else {@code X-RateLimit-Reset}, else a minute), or throws
 * {@link RateLimited} when the wait is longer than the caller should block; spaces content-creating requests of one
 * installation in this process.
 *
 * <p>GitHub's secondary limits count per installation across every instance, so each request of an installation
 * first takes a slot of the {@link RateBudget} all instances share (writes per minute and hour, requests in flight),
 * and a rate limit GitHub answers to any instance pauses the installation on all of them. Without the database no
 * write is sent (fail safe: the caller retries later); reads go on without a slot.
 */
final class GithubApi {

    private static final Logger log = LoggerFactory.getLogger(GithubApi.class);
    private static final Set<String> WRITES = Set.of("POST", "PATCH", "PUT", "DELETE");
    private static final Pattern NEXT_LINK = Pattern.compile("<([^>]+)>\\s*;\\s*rel=\"next\"");
    private static final Duration MIN_RATE_LIMIT_WAIT = Duration.ofMinutes(1);
    private static final int MAX_RATE_LIMIT_WAITS = 3;
    /** A request slot outlives the request's own timeout (30 s) only when its instance died holding it. */
    static final Duration SLOT_LEASE = Duration.ofSeconds(60);
    /** When a write could not get its budget because the database did not answer, it is tried again this much later. */
    private static final Duration BUDGET_UNAVAILABLE_RETRY = Duration.ofSeconds(10);

    /** A non-2xx answer that is not a rate limit, after retries. {@code status} 0 means no answer (network). */
    static final class ApiException extends RuntimeException {
        final int status;

        ApiException(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    /** The installation is rate limited until {@code retryAt}; the caller should come back then. */
    static final class RateLimited extends RuntimeException {
        final Instant retryAt;

        RateLimited(Instant retryAt) {
            super("GitHub rate limit; retry at " + retryAt);
            this.retryAt = retryAt;
        }
    }

    record Response(int status, JsonNode body, String text, HttpHeaders headers) {
        boolean ok() {
            return status / 100 == 2;
        }
    }

    private final HttpClient http;
    private final URI root;
    private final AppAuth auth;
    private final JsonMapper json;
    private final Clock clock;
    private final GithubProperties properties;
    private final MeterRegistry registry;
    private final Counter waits;
    private final AtomicLong remaining;
    private final ConcurrentHashMap<Long, Instant> nextWrite;
    private final ConcurrentHashMap<Long, Instant> blockedUntil;
    private final RateBudget budget;
    private final AtomicBoolean budgetDown;
    private final Counter budgetUnavailable;
    /** False: never sleep for a rate limit or the budget, throw {@link RateLimited} at once (see {@link #rescheduling}). */
    private final boolean waitsInProcess;

    GithubApi(
            GithubProperties properties,
            AppAuth auth,
            JsonMapper json,
            Clock clock,
            MeterRegistry registry,
            RateBudget budget) {
        this.budget = budget;
        this.budgetDown = new AtomicBoolean();
        this.remaining = new AtomicLong(-1);
        this.nextWrite = new ConcurrentHashMap<>();
        this.blockedUntil = new ConcurrentHashMap<>();
        this.waitsInProcess = true;
        this.budgetUnavailable = Counter.builder("bisectbot.github.budget.unavailable")
                .description("Requests that found the shared GitHub request budget unreachable (writes are not sent)")
                .register(registry);
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .build();
        var api = properties.apiUrl().toString();
        this.root = URI.create(api.endsWith("/") ? api : api + "/");
        this.auth = auth;
        this.json = json;
        this.clock = clock;
        this.properties = properties;
        this.registry = registry;
        this.waits = Counter.builder("bisectbot.github.rate.limit.waits")
                .description("Times a GitHub rate limit made a request wait or be rescheduled")
                .register(registry);
        Gauge.builder("bisectbot.github.rate.limit.remaining", remaining, AtomicLong::get)
                .description("X-RateLimit-Remaining of the latest GitHub answer (-1 before the first)")
                .register(registry);
        auth.tokenSource(this::fetchToken);
    }

    private GithubApi(GithubApi shared) {
        this.http = shared.http;
        this.root = shared.root;
        this.auth = shared.auth;
        this.json = shared.json;
        this.clock = shared.clock;
        this.properties = shared.properties;
        this.registry = shared.registry;
        this.waits = shared.waits;
        this.remaining = shared.remaining;
        this.nextWrite = shared.nextWrite;
        this.blockedUntil = shared.blockedUntil;
        this.budget = shared.budget;
        this.budgetDown = shared.budgetDown;
        this.budgetUnavailable = shared.budgetUnavailable;
        this.waitsInProcess = false;
    }

    /**
     * The same client for callers that can come back later (the outbox): a rate limit or a spent budget throws
     * {@link RateLimited} at once, so the caller reschedules its work instead of holding a thread asleep.
     */
    GithubApi rescheduling() {
        return new GithubApi(this);
    }

    // --- calls as an installation ------------------------------------------------------------------------------

    Response get(long installationId, String path) {
        return send(installationId, "GET", path, null, "application/vnd.github+json");
    }

    /** A file's raw content at {@code ref} (null: the default branch); empty Optional-like null when absent. */
    String fileContent(long installationId, String owner, String repo, String path, String ref) {
        var url = "repos/" + owner + "/" + repo + "/contents/" + path + (ref == null ? "" : "?ref=" + ref);
        var response = send(installationId, "GET", url, null, "application/vnd.github.raw+json");
        if (response.status() == 404) {
            return null;
        }
        return require(response, "read " + path).text();
    }

    Response post(long installationId, String path, JsonNode body) {
        return send(installationId, "POST", path, body, "application/vnd.github+json");
    }

    Response patch(long installationId, String path, JsonNode body) {
        return send(installationId, "PATCH", path, body, "application/vnd.github+json");
    }

    /** Every item of a paginated list, following {@code Link: rel="next"}. */
    List<JsonNode> getAll(long installationId, String path) {
        var items = new ArrayList<JsonNode>();
        String next = path + (path.contains("?") ? "&" : "?") + "per_page=100";
        for (int page = 0; next != null && page < 100; page++) {
            var response = require(get(installationId, next), "list " + path);
            var body = response.body();
            var list = body != null && body.isArray() ? body : body == null ? null : body.path("check_runs");
            if (list != null && list.isArray()) {
                list.forEach(items::add);
            }
            next = response.headers()
                    .firstValue("Link")
                    .map(GithubApi::nextLink)
                    .orElse(null);
        }
        return items;
    }

    static Response require(Response response, String what) {
        if (!response.ok()) {
            var message =
                    response.body() != null ? response.body().path("message").asString("") : "";
            throw new ApiException(
                    response.status(),
                    "GitHub answered " + response.status() + " to " + what + (message.isEmpty() ? "" : ": " + message));
        }
        return response;
    }

    static String nextLink(String header) {
        var m = NEXT_LINK.matcher(header);
        return m.find() ? m.group(1) : null;
    }

    // --- the App itself ----------------------------------------------------------------------------------------

    /** A call as the App itself (JWT), e.g. its webhook deliveries; never retried for a POST. */
    Response asApp(String method, String path) {
        return exchange(null, method, path, null, "application/vnd.github+json", "Bearer " + auth.jwt());
    }

    private AppAuth.Token fetchToken(long installationId, String jwt) {
        var response = exchange(
                null,
                "POST",
                "app/installations/" + installationId + "/access_tokens",
                null,
                "application/vnd.github+json",
                "Bearer " + jwt);
        require(response, "create an installation token for installation " + installationId);
        return new AppAuth.Token(
                response.body().path("token").asString(),
                Instant.parse(response.body().path("expires_at").asString()));
    }

    // --- the exchange ------------------------------------------------------------------------------------------

    private Response send(long installationId, String method, String path, JsonNode body, String accept) {
        var response =
                exchange(installationId, method, path, body, accept, "token " + auth.installationToken(installationId));
        if (response.status() == 401) {
            // A revoked or replaced token: fetch a new one once.
            auth.invalidate(installationId);
            response = exchange(
                    installationId, method, path, body, accept, "token " + auth.installationToken(installationId));
        }
        return response;
    }

    private Response exchange(
            Long installationId, String method, String path, JsonNode body, String accept, String authorization) {
        var uri = path.startsWith("http://") || path.startsWith("https://") ? URI.create(path) : root.resolve(path);
        var spaced = installationId != null && WRITES.contains(method);
        // A POST that failed may still have taken effect (a comment created before a 502): it is not repeated here,
        // its caller (the outbox) repeats the whole write after looking for what the first try left.
        var retryable = !method.equals("POST") || installationId == null;
        int failures = 0;
        int rateLimitWaits = 0;
        while (true) {
            if (installationId != null) {
                waitForRateLimit(installationId);
            }
            if (spaced) {
                awaitWriteSlot(installationId);
            }
            var slot = installationId == null ? null : takeSlot(installationId, spaced);
            var request = HttpRequest.newBuilder(uri)
                    .timeout(Duration.ofSeconds(30))
                    .header("Accept", accept)
                    .header("Authorization", authorization)
                    .header("X-GitHub-Api-Version", "2022-11-28")
                    .header("User-Agent", "bisectbot")
                    .method(
                            method,
                            body == null
                                    ? HttpRequest.BodyPublishers.noBody()
                                    : HttpRequest.BodyPublishers.ofByteArray(json.writeValueAsBytes(body)));
            if (body != null) {
                request.header("Content-Type", "application/json");
            }
            HttpResponse<byte[]> response;
            try {
                response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
            } catch (IOException e) {
                release(installationId, slot, null);
                count("error");
                if (!retryable || failures++ >= properties.apiRetries()) {
                    throw new ApiException(0, method + " " + uri.getPath() + " failed: " + e);
                }
                sleep(backoff(failures));
                continue;
            } catch (InterruptedException e) {
                release(installationId, slot, null);
                Thread.currentThread().interrupt();
                throw new ApiException(0, "interrupted");
            }
            var status = response.statusCode();
            count(Integer.toString(status));
            response.headers().firstValueAsLong("X-RateLimit-Remaining").ifPresent(remaining::set);
            var text = new String(response.body(), StandardCharsets.UTF_8);
            var parsed = parse(text);
            var rateLimited = isRateLimit(status, response.headers(), parsed);
            var pausedFor = release(installationId, slot, rateLimited ? pause(response.headers(), parsed) : null);
            if (status >= 500) {
                if (!retryable || failures++ >= properties.apiRetries()) {
                    return new Response(status, parsed, text, response.headers());
                }
                log.info("GitHub answered {} to {} {}; retrying", status, method, uri.getPath());
                sleep(backoff(failures));
                continue;
            }
            if (rateLimited) {
                // The pause as stored for all instances (the later of GitHub's answer and any pause before it).
                var retryAt = pausedFor != null && pausedFor.isPositive()
                        ? clock.instant().plus(pausedFor)
                        : retryAt(response.headers());
                waits.increment();
                if (installationId != null) {
                    blockedUntil.merge(installationId, retryAt, (a, b) -> a.isAfter(b) ? a : b);
                }
                var wait = Duration.between(clock.instant(), retryAt);
                log.info(
                        "GitHub rate limit on {} {}; waiting {} s",
                        method,
                        uri.getPath(),
                        Math.max(0, wait.toSeconds()));
                if (!waitsInProcess
                        || rateLimitWaits++ >= MAX_RATE_LIMIT_WAITS
                        || wait.compareTo(properties.maxRateLimitWait()) > 0) {
                    throw new RateLimited(retryAt);
                }
                sleep(wait);
                continue;
            }
            return new Response(status, parsed, text, response.headers());
        }
    }

    private JsonNode parse(String text) {
        if (text.isEmpty()) {
            return JsonNodeFactory.instance.missingNode();
        }
        try {
            return json.readTree(text);
        } catch (JacksonException e) {
            return JsonNodeFactory.instance.missingNode();
        }
    }

    private static boolean isRateLimit(int status, HttpHeaders headers, JsonNode body) {
        if (status == 429) {
            return true;
        }
        if (status != 403) {
            return false;
        }
        return headers.firstValue("Retry-After").isPresent()
                || headers.firstValueAsLong("X-RateLimit-Remaining").orElse(1) == 0
                || body.path("message")
                        .asString("")
                        .toLowerCase(java.util.Locale.ROOT)
                        .contains("rate limit");
    }

    /** When to try again: {@code Retry-After} seconds, else {@code X-RateLimit-Reset}, else a minute from now. */
    private Instant retryAt(HttpHeaders headers) {
        var now = clock.instant();
        var retryAfter = headers.firstValue("Retry-After").flatMap(GithubApi::seconds);
        if (retryAfter.isPresent()) {
            return now.plusSeconds(retryAfter.get());
        }
        var reset = headers.firstValue("X-RateLimit-Reset").flatMap(GithubApi::seconds);
        if (reset.isPresent()
                && headers.firstValueAsLong("X-RateLimit-Remaining").orElse(0) == 0) {
            var at = Instant.ofEpochSecond(reset.get()).plusSeconds(1);
            return at.isAfter(now) ? at : now.plusSeconds(1);
        }
        return now.plus(MIN_RATE_LIMIT_WAIT);
    }

    private static java.util.Optional<Long> seconds(String value) {
        try {
            return java.util.Optional.of(Long.parseLong(value.trim()));
        } catch (NumberFormatException e) {
            return java.util.Optional.empty();
        }
    }

    private void waitForRateLimit(long installationId) {
        var until = blockedUntil.get(installationId);
        if (until == null) {
            return;
        }
        var wait = Duration.between(clock.instant(), until);
        if (wait.isNegative() || wait.isZero()) {
            blockedUntil.remove(installationId, until);
            return;
        }
        if (!waitsInProcess || wait.compareTo(properties.maxRateLimitWait()) > 0) {
            throw new RateLimited(until);
        }
        sleep(wait);
    }

    /**
     * A slot of the shared budget for one request: waits for it (in process up to the longest rate limit wait, with
     * {@link #rescheduling} not at all) or throws {@link RateLimited} with the time to come back. Null: no slot
     * (a read while the database does not answer).
     */
    private OffsetDateTime takeSlot(long installationId, boolean write) {
        var waited = Duration.ZERO;
        while (true) {
            RateBudget.Grant grant;
            try {
                grant = budget.take(installationId, write);
                if (budgetDown.compareAndSet(true, false)) {
                    log.info("The shared GitHub request budget answers again");
                }
            } catch (DataAccessException e) {
                budgetUnavailable.increment();
                if (budgetDown.compareAndSet(false, true)) {
                    log.warn(
                            "The shared GitHub request budget is unreachable ({}): no write is sent to GitHub until the "
                                    + "database answers (the outbox retries them); reads go on",
                            e.getMostSpecificCause().getMessage());
                }
                if (!write) {
                    return null;
                }
                throw new RateLimited(clock.instant().plus(BUDGET_UNAVAILABLE_RETRY));
            }
            if (grant.granted()) {
                return grant.lease();
            }
            Counter.builder("bisectbot.github.budget.waits")
                    .description("Requests that waited or were rescheduled for the shared GitHub budget, by reason")
                    .tag("reason", grant.reason())
                    .register(registry)
                    .increment();
            var wait = grant.retryIn();
            if ("concurrent".equals(grant.reason())) {
                // A request in flight ends at any moment: look again shortly.
                wait = Duration.ofMillis(50 + ThreadLocalRandom.current().nextLong(150));
            }
            if ("paused".equals(grant.reason())) {
                var until = clock.instant().plus(wait);
                blockedUntil.merge(installationId, until, (a, b) -> a.isAfter(b) ? a : b);
            }
            if (!waitsInProcess || waited.plus(wait).compareTo(properties.maxRateLimitWait()) > 0) {
                throw new RateLimited(
                        clock.instant().plus("concurrent".equals(grant.reason()) ? Duration.ofSeconds(1) : wait));
            }
            sleep(wait);
            waited = waited.plus(wait);
        }
    }

    /** Frees a request's slot, storing GitHub's pause if it gave one; returns the installation's pause from now. */
    private Duration release(Long installationId, OffsetDateTime slot, RateBudget.Pause pause) {
        if (installationId == null || (slot == null && pause == null)) {
            return null;
        }
        try {
            return budget.release(installationId, slot, pause);
        } catch (DataAccessException e) {
            // The slot ends with its lease; the pause is still honoured here through blockedUntil.
            budgetUnavailable.increment();
            return null;
        }
    }

    /** GitHub's wait, for the database to turn into a time on its own clock. */
    private static RateBudget.Pause pause(HttpHeaders headers, JsonNode body) {
        var message = body.path("message").asString("");
        var reason = message.isEmpty() ? "rate limited" : message.length() > 200 ? message.substring(0, 200) : message;
        var retryAfter = headers.firstValue("Retry-After").flatMap(GithubApi::seconds);
        if (retryAfter.isPresent()) {
            return new RateBudget.Pause(null, (double) retryAfter.get(), reason);
        }
        var reset = headers.firstValue("X-RateLimit-Reset").flatMap(GithubApi::seconds);
        if (reset.isPresent()
                && headers.firstValueAsLong("X-RateLimit-Remaining").orElse(0) == 0) {
            return new RateBudget.Pause(Instant.ofEpochSecond(reset.get()).plusSeconds(1), null, reason);
        }
        return new RateBudget.Pause(null, (double) MIN_RATE_LIMIT_WAIT.toSeconds(), reason);
    }

    private void awaitWriteSlot(long installationId) {
        var spacing = properties.writeSpacing();
        var slot = new Instant[1];
        nextWrite.compute(installationId, (id, next) -> {
            var now = clock.instant();
            slot[0] = next == null || next.isBefore(now) ? now : next;
            return slot[0].plus(spacing);
        });
        sleep(Duration.between(clock.instant(), slot[0]));
    }

    private static final Backoff RETRY = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(30));

    private Duration backoff(int failure) {
        return RETRY.afterAttempt(failure);
    }

    private void count(String status) {
        Counter.builder("bisectbot.github.api.calls")
                .description("Requests to GitHub's API by answer status")
                .tag("status", status)
                .register(registry)
                .increment();
    }

    private static void sleep(Duration duration) {
        if (duration.isNegative() || duration.isZero()) {
            return;
        }
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(0, "interrupted");
        }
    }
}
