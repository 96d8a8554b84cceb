package io.bisectbot.api;

import io.bisectbot.callbacks.Callbacks;
import io.bisectbot.queue.Job;
import io.bisectbot.queue.JobEvent;
import io.bisectbot.queue.JobQueue;
import io.bisectbot.queue.JobStatus;
import io.bisectbot.queue.NewJob;
import io.bisectbot.queue.WaitingReason;
import io.bisectbot.web.Actors;
import io.bisectbot.web.JobWrites;
import io.bisectbot.web.Requires;
import io.bisectbot.web.Role;
import jakarta.servlet.http.HttpServletRequest;
import java.time.Instant;
import java.util.List;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;
import tools.jackson.databind.JsonNode;

/** Jobs over HTTP: enqueue (admin), inspect (viewer), cancel and retry (operator). */
@RestController
@ConditionalOnWebApplication // not in migrate mode, which has no queue
class JobController {

    private final JobQueue queue;
    private final ObjectProvider<Callbacks> callbacks;
    private final ObjectProvider<JobWrites> writes;

    JobController(JobQueue queue, ObjectProvider<Callbacks> callbacks, ObjectProvider<JobWrites> writes) {
        this.queue = queue;
        this.callbacks = callbacks;
        this.writes = writes;
    }

    /** Body of {@code POST /jobs}; only {@code kind} is required. */
    record EnqueueRequest(
            String kind,
            JsonNode payload,
            Integer priority,
            Instant runAt,
            Integer maxAttempts,
            String dedupKey,
            JsonNode callbacks) {}

    /** A job as {@code /job/{id}} shows it, with its history and what it wrote on GitHub. */
    record JobView(
            long id,
            String kind,
            JobStatus status,
            JsonNode payload,
            int priority,
            Instant runAt,
            int attemptCount,
            int maxAttempts,
            String workerId,
            Instant heartbeatAt,
            Instant claimedAt,
            Instant startedAt,
            Instant finishedAt,
            String lastError,
            JsonNode result,
            Long retryOf,
            String dedupKey,
            boolean cancelRequested,
            Instant createdAt,
            Instant updatedAt,
            List<JobEvent> events,
            List<Callbacks.EventView> callbacks,
            String tenant,
            List<WaitingReason> waiting,
            List<JobWrites.Write> githubWrites) {

        static JobView of(
                Job job,
                List<JobEvent> events,
                List<Callbacks.EventView> callbacks,
                List<WaitingReason> waiting,
                List<JobWrites.Write> githubWrites) {
            return new JobView(
                    job.id(),
                    job.kind(),
                    job.status(),
                    job.payload(),
                    job.priority(),
                    job.runAt(),
                    job.attemptCount(),
                    job.maxAttempts(),
                    job.workerId(),
                    job.heartbeatAt(),
                    job.claimedAt(),
                    job.startedAt(),
                    job.finishedAt(),
                    job.lastError(),
                    job.result(),
                    job.retryOf(),
                    job.dedupKey(),
                    job.cancelRequested(),
                    job.createdAt(),
                    job.updatedAt(),
                    events,
                    callbacks,
                    job.tenant(),
                    waiting,
                    githubWrites);
        }
    }

    @Requires(Role.ADMIN)
    @PostMapping("/jobs")
    ResponseEntity<JobView> enqueue(@RequestBody EnqueueRequest request) {
        if (request == null || request.kind() == null || request.kind().isBlank()) {
            throw new IllegalArgumentException("'kind' is required; known kinds: "
                    + String.join(", ", queue.kinds().stream().sorted().toList()));
        }
        if (request.payload() != null && !request.payload().isObject()) {
            throw new IllegalArgumentException("'payload' must be a JSON object");
        }
        if (request.payload() != null && request.payload().path("repo").isString()) {
            RepoUrls.refuseCredentials(request.payload().get("repo").asString());
        }
        var job = new NewJob(
                request.kind(),
                request.payload(),
                request.priority() == null ? 0 : request.priority(),
                request.runAt(),
                request.maxAttempts() == null ? NewJob.DEFAULT_MAX_ATTEMPTS : request.maxAttempts(),
                request.dedupKey() == null || request.dedupKey().isBlank() ? null : request.dedupKey());
        var result = enqueue(callbacks, queue, job, request.callbacks());
        return ResponseEntity.status(result.created() ? HttpStatus.CREATED : HttpStatus.OK)
                .body(view(result.job()));
    }

    @Requires(Role.VIEWER)
    @GetMapping("/job/{id}")
    JobView get(@PathVariable long id) {
        return view(queue.find(id).orElseThrow(() -> notFound(id)));
    }

    @Requires(Role.OPERATOR)
    @PostMapping("/jobs/{id}/cancel")
    JobView cancel(@PathVariable long id, HttpServletRequest request) {
        var job = queue.cancel(id, Actors.of(request)).orElseThrow(() -> notFound(id));
        if (job.status().isFinal() && job.status() != JobStatus.CANCELLED) {
            throw new IllegalStateException("job " + id + " already ended " + job.status() + "; nothing to cancel");
        }
        return view(job);
    }

    @Requires(Role.OPERATOR)
    @PostMapping("/jobs/{id}/retry")
    ResponseEntity<JobView> retry(@PathVariable long id, HttpServletRequest request) {
        var result = queue.retry(id, Actors.of(request)).orElseThrow(() -> notFound(id));
        return ResponseEntity.status(result.created() ? HttpStatus.CREATED : HttpStatus.OK)
                .body(view(result.job()));
    }

    private JobView view(Job job) {
        var sink = callbacks.getIfAvailable();
        var github = writes.getIfAvailable();
        return JobView.of(
                job,
                queue.events(job.id()),
                sink == null ? List.of() : sink.forJob(job.id()),
                queue.whyWaiting(job),
                github == null ? List.of() : github.of(job));
    }

    /** Enqueues the job with the request's {@code callbacks}, checked first (a bad one is a 400 and no job). */
    static JobQueue.Enqueued enqueue(
            ObjectProvider<Callbacks> callbacks, JobQueue queue, NewJob job, JsonNode requested) {
        var sink = callbacks.getIfAvailable();
        if (sink == null) {
            if (requested != null && !requested.isNull() && !requested.isEmpty()) {
                throw new IllegalArgumentException("callbacks are not available on this instance");
            }
            return queue.enqueue(job);
        }
        return sink.enqueue(queue, job, sink.parse(requested));
    }

    private static ResponseStatusException notFound(long id) {
        return new ResponseStatusException(HttpStatus.NOT_FOUND, "job " + id + " does not exist");
    }
}
