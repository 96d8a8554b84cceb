package io.bisectbot.callbacks;

import io.bisectbot.web.Requires;
import io.bisectbot.web.Role;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;

/** Operators replay dead-lettered callback events. */
@RestController
@ConditionalOnProperty(name = "bisectbot.mode", havingValue = "serve", matchIfMissing = true)
class CallbackAdminController {

    private final Callbacks callbacks;

    CallbackAdminController(Callbacks callbacks) {
        this.callbacks = callbacks;
    }

    /** Body {@code {"job": N}} or {@code {"since": "2026-01-31T00:00:00Z"}} (or both); answers how many were replayed. */
    @Requires(Role.OPERATOR)
    @PostMapping("/admin/callbacks/replay")
    Map<String, Object> replay(@RequestBody(required = false) JsonNode body) {
        if (body == null || !body.isObject()) {
            throw new IllegalArgumentException("the body must be {\"job\": N} or {\"since\": \"<ISO-8601 time>\"}");
        }
        for (var name : body.propertyNames()) {
            if (!name.equals("job") && !name.equals("since")) {
                throw new IllegalArgumentException("unknown field '" + name + "'; replay takes 'job' and 'since'");
            }
        }
        Long job = null;
        if (body.has("job")) {
            if (!body.get("job").canConvertToLong() || !body.get("job").isIntegralNumber()) {
                throw new IllegalArgumentException("'job' must be a job id (a number), got " + body.get("job"));
            }
            job = body.get("job").asLong();
        }
        Instant since = null;
        if (body.has("since")) {
            since = parseSince(body.get("since").asString(""));
        }
        var replayed = callbacks.replay(job, since);
        var answer = new LinkedHashMap<String, Object>();
        answer.put("replayed", replayed);
        if (job != null) {
            answer.put("job", job);
        }
        if (since != null) {
            answer.put("since", since.toString());
        }
        return answer;
    }

    static Instant parseSince(String value) {
        try {
            return Instant.parse(value);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(
                    "'since' must be an ISO-8601 time such as 2026-01-31T00:00:00Z, got '" + value + "'");
        }
    }
}
