package io.bisectbot.github;

import io.bisectbot.queue.JobQueue;
import io.bisectbot.web.Requires;
import io.bisectbot.web.Role;
import java.util.Map;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/** Operator endpoints of the GitHub App: reprocess a stored delivery, see and revive the outbox. */
@RestController
@ConditionalOnProperty(name = "bisectbot.mode", havingValue = "serve", matchIfMissing = true)
class GithubAdminController {

    private final Deliveries deliveries;
    private final Outbox outbox;
    private final JobQueue queue;

    GithubAdminController(Deliveries deliveries, Outbox outbox, JobQueue queue) {
        this.deliveries = deliveries;
        this.outbox = outbox;
        this.queue = queue;
    }

    record Reprocessed(String deliveryId, long jobId) {}

    @Requires(Role.ADMIN)
    @PostMapping("/admin/deliveries/{id}/reprocess")
    ResponseEntity<Reprocessed> reprocess(@PathVariable String id) {
        var enqueued = deliveries
                .reprocess(id, queue)
                .orElseThrow(() -> new ResponseStatusException(
                        HttpStatus.NOT_FOUND,
                        "delivery " + id + " is not stored (unknown, or older than the retention)"));
        return ResponseEntity.status(HttpStatus.ACCEPTED)
                .body(new Reprocessed(id, enqueued.job().id()));
    }

    @Requires(Role.VIEWER)
    @GetMapping("/admin/outbox")
    Outbox.Stats outboxStats() {
        return outbox.stats();
    }

    @Requires(Role.OPERATOR)
    @PostMapping("/admin/outbox/{id}/retry")
    Map<String, Object> retry(@PathVariable long id) {
        if (!outbox.revive(id)) {
            throw new ResponseStatusException(HttpStatus.NOT_FOUND, "outbox row " + id + " is not dead-lettered");
        }
        return Map.of("id", id, "status", "PENDING");
    }
}
