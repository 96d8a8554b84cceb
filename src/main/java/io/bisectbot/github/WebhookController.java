package io.bisectbot.github;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code POST /webhooks/github}: verifies, deduplicates, stores and enqueues a delivery. It never calls GitHub, so it
 * answers within GitHub's 10 s limit whatever GitHub's API does.
 */
@RestController
@ConditionalOnProperty(name = "bisectbot.mode", havingValue = "serve", matchIfMissing = true)
class WebhookController {

    private static final Logger log = LoggerFactory.getLogger(WebhookController.class);

    /** Events that are stored and processed; any other is acknowledged and dropped. */
    static final Set<String> HANDLED_EVENTS =
            Set.of("installation", "installation_repositories", "issue_comment", "pull_request");

    private static final String RETRY_AFTER_SECONDS = "60";
    /** Bodies in memory are gone within WEBHOOK_BODY_TIMEOUT; a few seconds is enough to find room. */
    private static final String BUSY_RETRY_AFTER_SECONDS = "5";
    /** Well inside GitHub's 10 s delivery timeout. */
    private static final java.time.Duration STORE_TIMEOUT = java.time.Duration.ofSeconds(8);

    private final WebhookSignatures signatures;
    private final IntakeWriter intake;
    private final Deliveries.PendingJobs pending;
    private final JsonMapper json;
    private final GithubProperties properties;
    private final WebhookProperties limits;
    private final BodyBudget budget;
    private volatile int lastSecretIndex = -1;
    private final java.util.concurrent.atomic.AtomicLong lastBudgetWarning =
            new java.util.concurrent.atomic.AtomicLong(System.nanoTime() - 20_000_000_000L);

    WebhookController(
            WebhookSignatures signatures,
            IntakeWriter intake,
            Deliveries.PendingJobs pending,
            JsonMapper json,
            GithubProperties properties,
            WebhookProperties limits,
            MeterRegistry registry) {
        this.signatures = signatures;
        this.intake = intake;
        this.pending = pending;
        this.json = json;
        this.properties = properties;
        this.limits = limits;
        this.budget = new BodyBudget(limits.inflightBudget().toBytes());
        Gauge.builder("bisectbot.webhook.inflight.bytes", budget, BodyBudget::used)
                .description("bytes of webhook bodies held in memory (WEBHOOK_INFLIGHT_BUDGET bounds it)")
                .register(registry);
    }

    record Result(String result, String deliveryId) {}

    @io.bisectbot.web.Public // the signature is the check
    @PostMapping("/webhooks/github")
    ResponseEntity<?> receive(HttpServletRequest request) throws IOException {
        // Every refusal here comes before a byte of the body is read.
        var max = properties.maxPayloadBytes();
        var declared = request.getContentLengthLong();
        if (declared > max) {
            return error(
                    HttpStatus.CONTENT_TOO_LARGE,
                    "payload of " + declared + " bytes (Content-Length) is larger than the limit of " + max
                            + " bytes (WEBHOOK_MAX_BODY)");
        }
        if (!signatures.configured()) {
            return error(HttpStatus.UNAUTHORIZED, "webhooks are disabled: set GITHUB_WEBHOOK_SECRETS on the instance");
        }
        try (var reader = new WebhookBody(budget, System::nanoTime)) {
            var deadline = System.nanoTime() + limits.bodyTimeout().toNanos();
            return switch (reader.read(request.getInputStream(), declared, max, deadline)) {
                case WebhookBody.Outcome.Complete complete -> receive(request, complete.bytes());
                case WebhookBody.Outcome.TooLarge tooLarge ->
                    error(
                            HttpStatus.CONTENT_TOO_LARGE,
                            "payload is larger than the limit of " + max + " bytes (WEBHOOK_MAX_BODY)");
                case WebhookBody.Outcome.NoBudget noBudget -> {
                    var now = System.nanoTime();
                    var last = lastBudgetWarning.get();
                    // Once per 10 s at most: a flood would otherwise become a flood of log lines.
                    if (now - last > 10_000_000_000L && lastBudgetWarning.compareAndSet(last, now)) {
                        log.warn(
                                "Webhooks refused with 503: {} bytes of bodies already in memory (WEBHOOK_INFLIGHT_BUDGET {} bytes)",
                                budget.used(),
                                budget.capacity());
                    }
                    yield ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE)
                            .header("Retry-After", BUSY_RETRY_AFTER_SECONDS)
                            .body(Map.of(
                                    "error",
                                    "too many webhook bodies are being received at once; try again shortly",
                                    "status",
                                    503));
                }
                case WebhookBody.Outcome.TimedOut timedOut ->
                    error(
                            HttpStatus.REQUEST_TIMEOUT,
                            "the body did not arrive within "
                                    + limits.bodyTimeout().toMillis() + " ms (WEBHOOK_BODY_TIMEOUT)");
            };
        }
    }

    private ResponseEntity<?> receive(HttpServletRequest request, byte[] body) {
        var matched = signatures.verify(body, request.getHeader("X-Hub-Signature-256"));
        if (matched.isEmpty()) {
            return error(
                    HttpStatus.UNAUTHORIZED,
                    request.getHeader("X-Hub-Signature-256") == null
                            ? "missing X-Hub-Signature-256 header"
                            : "X-Hub-Signature-256 does not match the body under any configured secret");
        }
        var event = request.getHeader("X-GitHub-Event");
        var deliveryId = request.getHeader("X-GitHub-Delivery");
        if (event == null || event.isBlank()) {
            return error(HttpStatus.BAD_REQUEST, "missing X-GitHub-Event header");
        }
        if (deliveryId == null || deliveryId.isBlank() || deliveryId.length() > 200) {
            return error(HttpStatus.BAD_REQUEST, "missing or invalid X-GitHub-Delivery header");
        }
        Envelope envelope;
        try {
            envelope = envelope(body);
        } catch (JacksonException e) {
            return error(HttpStatus.BAD_REQUEST, "payload is not valid JSON");
        }
        if (envelope == null) {
            return error(HttpStatus.BAD_REQUEST, "payload is not a JSON object");
        }
        var index = matched.getAsInt();
        if (lastSecretIndex != index) {
            // Logged when it changes, so a rotation shows when senders moved to the new secret.
            lastSecretIndex = index;
            log.info("Webhook deliveries are signed with secret #{} of GITHUB_WEBHOOK_SECRETS", index);
        }
        log.debug("Delivery {} ({}) signed with webhook secret #{}", deliveryId, event, index);
        if (event.equals("ping")) {
            return ResponseEntity.ok(new Result("pong", deliveryId));
        }
        if (!HANDLED_EVENTS.contains(event)) {
            return ResponseEntity.accepted().body(new Result("ignored", deliveryId));
        }
        if (pending.get() >= properties.maxQueueSize()) {
            return ResponseEntity.status(HttpStatus.TOO_MANY_REQUESTS)
                    .header("Retry-After", RETRY_AFTER_SECONDS)
                    .body(Map.of("error", "the job queue is full; try again later", "status", 429));
        }
        var action = envelope.action();
        boolean created;
        try {
            created = intake.record(
                    new Deliveries.Incoming(
                            deliveryId,
                            event,
                            action,
                            envelope.installationId(),
                            storedHeaders(request),
                            new String(body, StandardCharsets.UTF_8)),
                    STORE_TIMEOUT);
        } catch (IntakeWriter.InstallationOverCap e) {
            return ResponseEntity.status(HttpStatus.TOO_MANY_REQUESTS)
                    .header("Retry-After", RETRY_AFTER_SECONDS)
                    .body(Map.of("error", e.getMessage(), "status", 429));
        } catch (IntakeWriter.Unavailable e) {
            log.warn("Delivery {} not stored: {}", deliveryId, e.getMessage());
            return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE)
                    .header("Retry-After", RETRY_AFTER_SECONDS)
                    .body(Map.of("error", "the delivery could not be stored; try again shortly", "status", 503));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return error(HttpStatus.SERVICE_UNAVAILABLE, "the instance is shutting down");
        }
        return created
                ? ResponseEntity.accepted().body(new Result("queued", deliveryId))
                : ResponseEntity.ok(new Result("duplicate", deliveryId));
    }

    /** What intake needs from a payload: its top-level {@code action} and {@code installation.id}. */
    record Envelope(String action, Long installationId) {}

    /**
     * Reads the whole body as JSON without building a tree (it is stored as received and parsed again by the job):
     * null when it is not an object; throws when it is not valid JSON.
     */
    Envelope envelope(byte[] body) {
        try (var parser = json.createParser(body)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            String action = null;
            Long installationId = null;
            JsonToken token;
            while ((token = parser.nextToken()) == JsonToken.PROPERTY_NAME) {
                var name = parser.currentName();
                token = parser.nextToken();
                if (name.equals("action") && token == JsonToken.VALUE_STRING) {
                    action = parser.getString();
                } else if (name.equals("installation") && token == JsonToken.START_OBJECT) {
                    while (parser.nextToken() == JsonToken.PROPERTY_NAME) {
                        var field = parser.currentName();
                        var value = parser.nextToken();
                        if (field.equals("id") && value == JsonToken.VALUE_NUMBER_INT) {
                            installationId = parser.getLongValue();
                        } else {
                            parser.skipChildren();
                        }
                    }
                } else {
                    parser.skipChildren();
                }
            }
            if (token != JsonToken.END_OBJECT || parser.nextToken() != null) {
                throw new tools.jackson.core.exc.StreamReadException(parser, "trailing content after the payload");
            }
            return new Envelope(action, installationId);
        }
    }

    /** Request headers worth keeping: GitHub's own and the content type, never the signatures. */
    private static Map<String, String> storedHeaders(HttpServletRequest request) {
        var headers = new LinkedHashMap<String, String>();
        for (var name : Collections.list(request.getHeaderNames())) {
            var lower = name.toLowerCase(java.util.Locale.ROOT);
            if (lower.startsWith("x-hub-signature") || lower.equals("authorization") || lower.equals("cookie")) {
                continue;
            }
            if (lower.startsWith("x-github-") || lower.equals("user-agent") || lower.equals("content-type")) {
                headers.put(lower, request.getHeader(name));
            }
        }
        return headers;
    }

    private static ResponseEntity<Map<String, Object>> error(HttpStatus status, String message) {
        return ResponseEntity.status(status).body(Map.of("error", message, "status", status.value()));
    }
}
