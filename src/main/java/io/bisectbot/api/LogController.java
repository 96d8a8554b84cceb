package io.bisectbot.api;

import io.bisectbot.executor.LogChunk;
import io.bisectbot.executor.StepLogRepository;
import io.bisectbot.queue.JobQueue;
import io.bisectbot.web.Requires;
import io.bisectbot.web.Role;
import java.util.List;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/**
 * Step output of a job, stored while it runs: list the steps, then read a step from a sequence number on; a client
 * follows a running step by asking again from {@code next_seq}. Secrets were masked before storage.
 */
@RestController
@ConditionalOnWebApplication // not in migrate mode, which has no queue
class LogController {

    private static final int MAX_CHUNKS = 500;

    private final JobQueue queue;
    private final ObjectProvider<StepLogRepository> logs;

    LogController(JobQueue queue, ObjectProvider<StepLogRepository> logs) {
        this.queue = queue;
        this.logs = logs;
    }

    record Steps(long jobId, List<StepLogRepository.StepLogInfo> steps) {}

    record Chunks(long jobId, String step, List<LogChunk> chunks, int nextSeq) {}

    @Requires(Role.VIEWER)
    @GetMapping("/job/{id}/logs")
    Steps steps(@PathVariable long id) {
        requireJob(id);
        return new Steps(id, repository().steps(id));
    }

    @Requires(Role.VIEWER)
    @GetMapping("/job/{id}/logs/{step}")
    Chunks chunks(@PathVariable long id, @PathVariable String step, @RequestParam(defaultValue = "0") int from) {
        requireJob(id);
        if (from < 0) {
            throw new IllegalArgumentException("'from' must be 0 or more, got " + from);
        }
        var chunks = repository().read(id, step, from, MAX_CHUNKS);
        var next = chunks.isEmpty() ? from : chunks.getLast().seq() + 1;
        return new Chunks(id, step, chunks, next);
    }

    private void requireJob(long id) {
        if (queue.find(id).isEmpty()) {
            throw new ResponseStatusException(HttpStatus.NOT_FOUND, "job " + id + " does not exist");
        }
    }

    private StepLogRepository repository() {
        var repository = logs.getIfAvailable();
        if (repository == null) {
            throw new ResponseStatusException(
                    HttpStatus.SERVICE_UNAVAILABLE, "step logs are not available on this instance");
        }
        return repository;
    }
}
