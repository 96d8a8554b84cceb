package io.bisectbot.github;

import io.bisectbot.queue.JobQueue;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.io.InputStream;
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
import tools.jackson.databind.JsonNode;
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
    static final Set<String> HANDLED_EVENTS = Set.of("installation", "installation_repositories", "issue_comment", "pull_request");

    private static final String RETRY_AFTER_SECONDS = "60";

    private final WebhookSignatures signatures;
    private final Deliveries deliveries;
    private final Deliveries.PendingJobs pending;
    private final JobQueue queue;
    private final JsonMapper json;
    private final GithubProperties properties;

    WebhookController(WebhookSignatures signatures, Deliveries deliveries, Deliveries.PendingJobs pending, JobQueue queue,
                      JsonMapper json, GithubProperties properties) {
        this.signatures = signatures;
        this.deliveries = deliveries;
        this.pending = pending;
        this.queue = queue;
        this.json = json;
        this.properties = properties;
    }

    record Result(String result, String deliveryId) {
    }

    @PostMapping("/webhooks/github")
    ResponseEntity<?> receive(HttpServletRequest request) throws IOException {
        var max = properties.maxPayloadBytes();
        if (request.getContentLengthLong() > max) {
            return error(HttpStatus.CONTENT_TOO_LARGE, "payload is larger than " + max + " bytes");
        }
        var body = readAtMost(request.getInputStream(), max);
        if (body == null) {
            return error(HttpStatus.CONTENT_TOO_LARGE, "payload is larger than " + max + " bytes");
        }
        if (!signatures.configured()) {
            return error(HttpStatus.UNAUTHORIZED, "webhooks are disabled: set GITHUB_WEBHOOK_SECRETS on the instance");
        }
        var matched = signatures.verify(body, request.getHeader("X-Hub-Signature-256"));
        if (matched.isEmpty()) {
            return error(HttpStatus.UNAUTHORIZED, request.getHeader("X-Hub-Signature-256") == null
                    ? "missing X-Hub-Signature-256 header" : "X-Hub-Signature-256 does not match the body under any configured secret");
        }
        var event = request.getHeader("X-GitHub-Event");
        var deliveryId = request.getHeader("X-GitHub-Delivery");
        if (event == null || event.isBlank()) {
            return error(HttpStatus.BAD_REQUEST, "missing X-GitHub-Event header");
        }
        if (deliveryId == null || deliveryId.isBlank() || deliveryId.length() > 200) {
            return error(HttpStatus.BAD_REQUEST, "missing or invalid X-GitHub-Delivery header");
        }
        JsonNode payload;
        try {
            payload = json.readTree(body);
        } catch (JacksonException e) {
            return error(HttpStatus.BAD_REQUEST, "payload is not valid JSON");
        }
        if (payload == null || !payload.isObject()) {
            return error(HttpStatus.BAD_REQUEST, "payload is not a JSON object");
        }
        log.debug("Delivery {} ({}) signed with webhook secret #{}", deliveryId, event, matched.getAsInt());
        if (event.equals("ping")) {
            return ResponseEntity.ok(new Result("pong", deliveryId));
        }
        if (!HANDLED_EVENTS.contains(event)) {
            return ResponseEntity.accepted().body(new Result("ignored", deliveryId));
        }
        if (pending.get() >= properties.maxQueueSize()) {
            return ResponseEntity.status(HttpStatus.TOO_MANY_REQUESTS).header("Retry-After", RETRY_AFTER_SECONDS)
                    .body(Map.of("error", "the job queue is full; try again later", "status", 429));
        }
        var action = payload.path("action").isString() ? payload.get("action").asString() : null;
        var installation = payload.path("installation").path("id");
        var created = deliveries.record(deliveryId, event, action, installation.isNumber() ? installation.asLong() : null,
                storedHeaders(request), new String(body, StandardCharsets.UTF_8), queue);
        return created
                ? ResponseEntity.accepted().body(new Result("queued", deliveryId))
                : ResponseEntity.ok(new Result("duplicate", deliveryId));
    }

    /** The body, or null when it is longer than {@code max} (read no further than that). */
    private static byte[] readAtMost(InputStream in, long max) throws IOException {
        var bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max + 1));
        return bytes.length > max ? null : bytes;
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
