package io.bisectbot.callbacks;

import io.bisectbot.loop.Backoff;
import io.bisectbot.queue.Job;
import io.bisectbot.queue.JobQueue;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Delivers callback events: at least once (a receiver deduplicates by {@code event_id}), signed per attempt with a
 * fresh timestamp. A 2xx answer delivers; 408, 429, 5xx, redirects (never followed) and network errors are retried
 * with jittered exponential backoff or at the receiver's {@code Retry-After}; any other 4xx, and a target that is
 * not allowed, dead-letters the event at once; so does failing for longer than {@code CALLBACK_DEAD_AFTER}.
 */
final class CallbackDelivery {

    private static final Logger log = LoggerFactory.getLogger(CallbackDelivery.class);
    private static final int BATCH = 20;
    static final String USER_AGENT = "bisectbot-callbacks";

    /** What one attempt came to: a status code, or an error without one. */
    private record Answer(Integer status, String error, Duration retryAfter, boolean permanent) {}

    private final CallbackOutbox outbox;
    private final JobQueue queue;
    private final CallbackTargets targets;
    private final CallbackProperties properties;
    private final JsonMapper json;
    private final Clock clock;
    private final String owner;

    CallbackDelivery(
            CallbackOutbox outbox,
            JobQueue queue,
            CallbackTargets targets,
            CallbackProperties properties,
            JsonMapper json,
            Clock clock,
            String owner) {
        this.outbox = outbox;
        this.queue = queue;
        this.targets = targets;
        this.properties = properties;
        this.json = json;
        this.clock = clock;
        this.owner = owner;
    }

    /** Claims and delivers one batch; returns how many events it claimed. */
    int deliverDue() {
        var events = outbox.claim(owner, BATCH, properties.lease());
        for (var event : events) {
            if (Thread.currentThread().isInterrupted()) {
                outbox.postpone(event, clock.instant());
                continue;
            }
            deliver(event);
        }
        return events.size();
    }

    private void deliver(CallbackOutbox.Event event) {
        var job = queue.find(event.jobId());
        if (job.isEmpty()) {
            outbox.failed(event, "job " + event.jobId() + " no longer exists", clock.instant(), true);
            return;
        }
        var body = body(event, job.get());
        var started = System.nanoTime();
        var at = clock.instant();
        Answer answer;
        try {
            answer = send(URI.create(event.url()), body);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            outbox.postpone(event, clock.instant());
            return;
        }
        var duration = Duration.ofNanos(System.nanoTime() - started).toMillis();
        outbox.recordAttempt(event, at, answer.status(), answer.error(), duration);
        if (answer.status() != null && answer.status() >= 200 && answer.status() < 300) {
            if (!outbox.done(event)) {
                log.info(
                        "Callback event {} was delivered after its lease ran out; another instance may deliver it again",
                        event.eventId());
            }
            return;
        }
        var now = clock.instant();
        var failingSince = event.firstFailureAt() != null ? event.firstFailureAt() : now;
        var error = answer.error() != null ? answer.error() : "answered " + answer.status();
        var delay = answer.retryAfter() != null
                ? min(answer.retryAfter(), properties.backoffMax())
                : backoff(event.attempts());
        var deadline = failingSince.plus(properties.deadAfter());
        var dead = answer.permanent() || !now.isBefore(deadline);
        // The last attempt falls on the deadline rather than a whole backoff after it.
        var retryAt = now.plus(delay).isAfter(deadline) ? deadline : now.plus(delay);
        if (dead) {
            log.warn(
                    "Callback event {} ({} of job {}) to {} is dead after {} attempts: {}",
                    event.eventId(),
                    event.type(),
                    event.jobId(),
                    safeUrl(event.url()),
                    event.attempts(),
                    error);
        }
        outbox.failed(event, error, retryAt, dead);
    }

    /** The event as sent: the same bytes' meaning on every attempt, since a finished job no longer changes. */
    byte[] body(CallbackOutbox.Event event, Job job) {
        var root = JsonNodeFactory.instance.objectNode();
        root.put("event_id", event.eventId().toString());
        root.put("type", event.type());
        root.put("created_at", event.createdAt().toString());
        var summary = root.putObject("job");
        summary.put("id", job.id());
        summary.put("kind", job.kind());
        summary.put("status", job.status().name());
        summary.put("attempt_count", job.attemptCount());
        summary.put("max_attempts", job.maxAttempts());
        putTime(summary, "created_at", job.createdAt());
        putTime(summary, "started_at", job.startedAt());
        putTime(summary, "finished_at", job.finishedAt());
        if (job.lastError() != null) {
            summary.put("error", job.lastError());
        }
        if (job.retryOf() != null) {
            summary.put("retry_of", job.retryOf());
        }
        summary.put("url", "/job/" + job.id());
        if (Callbacks.FINAL_EVENTS.contains(event.type())) {
            root.set("result", job.result());
        } else if (event.detail() != null) {
            root.set("progress", event.detail());
        }
        return json.writeValueAsBytes(root);
    }

    private static void putTime(ObjectNode node, String name, Instant value) {
        if (value != null) {
            node.put(name, value.toString());
        }
    }

    private Answer send(URI uri, byte[] body) throws InterruptedException {
        if (properties.secretList().isEmpty()) {
            return new Answer(null, "not sent: CALLBACK_SECRETS is empty, so the event cannot be signed", null, false);
        }
        InetAddress address;
        try {
            address = targets.resolve(uri);
        } catch (CallbackTargets.Refused e) {
            return new Answer(null, "refused: " + e.getMessage(), null, true);
        } catch (UnknownHostException e) {
            return new Answer(null, "host " + CallbackTargets.host(uri) + " does not resolve", null, false);
        }
        var host = CallbackTargets.host(uri);
        var timestamp = clock.instant().getEpochSecond();
        // The connection goes to the address just checked, never to a second lookup's answer (DNS rebinding).
        var pinned =
                URI.create(uri.getScheme() + "://" + literal(address) + (uri.getPort() == -1 ? "" : ":" + uri.getPort())
                        + (uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath())
                        + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery()));
        var request = HttpRequest.newBuilder(pinned)
                .timeout(properties.timeout())
                .header("Content-Type", "application/json")
                .header("User-Agent", USER_AGENT)
                .header(CallbackVerifier.TIMESTAMP_HEADER, Long.toString(timestamp))
                .header(
                        CallbackVerifier.SIGNATURE_HEADER,
                        CallbackVerifier.signatureHeader(properties.secretList(), timestamp, body))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (CallbackTargets.literal(host) == null) {
            try {
                request.header("Host", host + (uri.getPort() == -1 ? "" : ":" + uri.getPort()));
            } catch (IllegalArgumentException e) {
                // Host is restricted unless jdk.httpclient.allowRestrictedHeaders names it (the launcher sets it).
            }
        }
        try (var client = client(uri, host)) {
            var response = client.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
            try (var in = response.body()) {
                in.readNBytes(CallbackProperties.RESPONSE_CAP); // only the status matters; the rest is not read
            } catch (IOException ignored) {
                // The status arrived; a broken body after it changes nothing.
            }
            var status = response.statusCode();
            var retryAfter = retryAfter(response.headers().firstValue("Retry-After"));
            var permanent = status >= 400 && status < 500 && status != 408 && status != 429;
            var error = status >= 300 && status < 400 ? "answered " + status + " (redirects are not followed)" : null;
            return new Answer(status, error, status >= 200 && status < 300 ? null : retryAfter, permanent);
        } catch (IOException e) {
            return new Answer(
                    null,
                    e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()),
                    null,
                    false);
        }
    }

    private HttpClient client(URI uri, String host) {
        var builder = HttpClient.newBuilder()
                .connectTimeout(properties.timeout())
                .followRedirects(HttpClient.Redirect.NEVER)
                .version(HttpClient.Version.HTTP_1_1);
        if (uri.getScheme().equalsIgnoreCase("https") && CallbackTargets.literal(host) == null) {
            try {
                // The connection is to an address, so the name goes in SNI, and the certificate is checked against it.
                var parameters = SSLContext.getDefault().getDefaultSSLParameters();
                parameters.setServerNames(List.of(new SNIHostName(host)));
                parameters.setEndpointIdentificationAlgorithm("HTTPS");
                builder.sslParameters(parameters);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("no default TLS context", e);
            }
        }
        return builder.build();
    }

    private static String literal(InetAddress address) {
        return address instanceof Inet6Address
                ? "[" + address.getHostAddress().replace("%", "%25") + "]"
                : address.getHostAddress();
    }

    /** {@code Retry-After} as seconds or an HTTP date; null when absent or unreadable. */
    private Duration retryAfter(Optional<String> header) {
        if (header.isEmpty()) {
            return null;
        }
        var value = header.get().strip();
        try {
            return Duration.ofSeconds(Math.max(0, Long.parseLong(value)));
        } catch (NumberFormatException e) {
            try {
                var at = ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME)
                        .toInstant();
                var wait = Duration.between(clock.instant(), at);
                return wait.isNegative() ? Duration.ZERO : wait;
            } catch (DateTimeParseException unreadable) {
                return null;
            }
        }
    }

    private Duration backoff(int attempts) {
        // Jitter keeps a receiver that came back from getting every waiting event at once.
        return new Backoff(properties.backoffBase(), properties.backoffMax()).afterAttempt(attempts);
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /** The URL without its query, which may carry a receiver's token. */
    static String safeUrl(String url) {
        var query = url.indexOf('?');
        return query < 0 ? url : url.substring(0, query) + "?…";
    }
}
