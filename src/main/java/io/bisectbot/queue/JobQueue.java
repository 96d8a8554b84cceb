package io.bisectbot.queue;

import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import tools.jackson.databind.JsonNode;

/**
 * What the rest of the service does with jobs: enqueue (deduplicated by key), look up, cancel, retry, count.
 * Enqueued jobs run at least once; the fence makes sure only the latest attempt's result is ever stored.
 */
public final class JobQueue {

    private final JobRepository repository;
    private final Set<String> kinds;
    private final Clock clock;
    private final QueueProperties properties;
    private final String workerId;
    private final QueueMetrics metrics;
    private final List<Consumer<Job>> createdListeners = new CopyOnWriteArrayList<>();

    JobQueue(
            JobRepository repository,
            Set<String> kinds,
            Clock clock,
            QueueProperties properties,
            String workerId,
            QueueMetrics metrics) {
        this.repository = repository;
        this.kinds = Set.copyOf(kinds);
        this.clock = clock;
        this.properties = properties;
        this.workerId = workerId;
        this.metrics = metrics;
    }

    /** The result of an enqueue: the job, and false when its dedup key already named an existing job. */
    public record Enqueued(Job job, boolean created) {}

    public Set<String> kinds() {
        return kinds;
    }

    /**
     * Tells {@code listener} of every job {@link #enqueue} creates, right after the insert and in the caller's
     * transaction when there is one, so what it writes about the job commits (or not) with the job.
     */
    public void onCreated(Consumer<Job> listener) {
        createdListeners.add(listener);
    }

    public Enqueued enqueue(NewJob job) {
        requireKnownKind(job.kind());
        var result = repository.enqueue(job, clock.instant());
        if (result.created()) {
            metrics.count("enqueued", job.kind());
            createdListeners.forEach(listener -> listener.accept(result.job()));
        }
        return new Enqueued(result.job(), result.created());
    }

    /** Enqueues many jobs in one statement (jobs whose dedup key exists are skipped); returns the new ids. */
    public List<Long> enqueueAll(List<NewJob> jobs) {
        jobs.forEach(job -> requireKnownKind(job.kind()));
        var ids = repository.enqueueAll(jobs, clock.instant());
        if (!jobs.isEmpty()) {
            metrics.count("enqueued", jobs.getFirst().kind(), ids.size());
        }
        return ids;
    }

    private void requireKnownKind(String kind) {
        if (!kinds.contains(kind)) {
            throw new UnknownKindException(kind, kinds);
        }
    }

    public Optional<Job> find(long id) {
        return repository.find(id);
    }

    /** Jobs of {@code kind} not yet final whose payload contains {@code payloadSubset}, oldest first. */
    public List<Job> findLive(String kind, JsonNode payloadSubset) {
        return repository.findLive(kind, payloadSubset);
    }

    /** Jobs of any kind not yet final whose payload contains {@code payloadSubset}, oldest first. */
    public List<Job> findLive(JsonNode payloadSubset) {
        return repository.findLive(payloadSubset);
    }

    /**
     * True while {@code attempt} of the job runs on {@code workerId} and that worker has not stopped: the fence check
     * for what outlives a worker (a step container whose job no longer runs is an orphan).
     */
    public boolean isRunning(long jobId, String workerId, int attempt) {
        return repository.isRunningAttempt(jobId, workerId, attempt);
    }

    /** True while the worker is known and has not stopped (a worker that stopped heartbeating is marked stopped). */
    public boolean isWorkerAlive(String workerId) {
        return repository.isWorkerAlive(workerId);
    }

    /** Jobs waiting to run, over all tenants and kinds (one count, for intake backpressure). */
    public long pendingCount() {
        return repository.pendingCount();
    }

    public List<JobEvent> events(long id) {
        return repository.events(id);
    }

    /**
     * Adds a note to the job's history, e.g. why a part of what it asked for was dropped; in the caller's transaction
     * when there is one.
     */
    public void note(long id, String type, String detail) {
        repository.recordEvent(id, clock.instant(), type, null, null, detail);
    }

    /**
     * Cancels a PENDING job at once, or asks the worker of a RUNNING one to stop it (it ends CANCELLED). A final job
     * is left unchanged. Returns the job as it is afterwards; empty when there is no such job.
     */
    public Optional<Job> cancel(long id) {
        return cancel(id, null);
    }

    /** As {@link #cancel(long)}, recording {@code actor} (who asked; null for the service) in the job's history. */
    public Optional<Job> cancel(long id, String actor) {
        return repository.cancel(id, clock.instant(), actor).flatMap(ignored -> repository.find(id));
    }

    /**
     * Retries a FAILED or CANCELLED job as a new job linked by {@code retry_of}; the original stays as it was. A job
     * is retried at most once: asking again returns the same retry.
     *
     * @throws IllegalStateException when the job is not FAILED or CANCELLED
     */
    public Optional<Enqueued> retry(long id) {
        return retry(id, null);
    }

    /** As {@link #retry(long)}, recording {@code actor} (who asked; null for the service) in both jobs' histories. */
    public Optional<Enqueued> retry(long id, String actor) {
        return repository.retry(id, clock.instant(), actor).map(r -> new Enqueued(r.job(), r.created()));
    }

    /**
     * Why a PENDING job is not running, most decisive first: not due yet (scheduled, or backoff after a failed
     * attempt), no live instance, no live instance runs its kind, Docker unavailable wherever it is run, its tenant
     * at its running cap, no free slot; else it is queued behind the jobs ahead of it. Empty for any other status.
     */
    public List<WaitingReason> whyWaiting(Job job) {
        if (job.status() != JobStatus.PENDING) {
            return List.of();
        }
        var now = clock.instant();
        var facts = repository.waitingFacts(job, now, now.minus(properties.staleAfter()));
        var reasons = new java.util.ArrayList<WaitingReason>();
        var kind = "'" + job.kind() + "'";
        if (job.runAt().isAfter(now)) {
            var seconds =
                    Math.max(1, java.time.Duration.between(now, job.runAt()).toSeconds());
            reasons.add(new WaitingReason(
                    "not_due",
                    "due in " + seconds + " s"
                            + (job.attemptCount() > 0
                                    ? ", the backoff after attempt " + job.attemptCount() + " failed"
                                    : ", as it was scheduled")));
        }
        var cap = properties.maxRunningPerTenant();
        if (facts.liveInstances() == 0) {
            reasons.add(new WaitingReason(
                    "no_instance",
                    "no live instance: none has sent a heartbeat in the last "
                            + properties.staleAfter().toSeconds() + " s"));
        } else if (facts.withKind() == 0) {
            reasons.add(new WaitingReason(
                    "kind_disabled",
                    "kind " + kind + " is disabled on every live instance (" + facts.liveInstances()
                            + "): none has a handler for it"));
        } else if (facts.ready() == 0) {
            reasons.add(new WaitingReason(
                    "docker_unavailable",
                    "Docker is unavailable on every live instance that runs " + kind + " (" + facts.withKind()
                            + "); its jobs wait until an engine answers again"));
        } else {
            if (job.tenant() != null && cap > 0 && facts.tenantRunning() >= cap) {
                reasons.add(new WaitingReason(
                        "tenant_cap",
                        job.tenant().replace(':', ' ') + " is at its cap: " + facts.tenantRunning() + " of " + cap
                                + " jobs running (MAX_RUNNING_PER_INSTALLATION)"));
            }
            if (facts.freeSlots() == 0) {
                reasons.add(new WaitingReason(
                        "no_free_slot",
                        "no free slot: all " + facts.slots() + " slots of the " + facts.ready()
                                + (facts.ready() == 1 ? " instance" : " instances") + " that run " + kind
                                + " are busy"));
            }
        }
        if (reasons.isEmpty()) {
            reasons.add(new WaitingReason(
                    "queued",
                    facts.ahead() == 0
                            ? "first in line: an instance takes it at its next claim"
                            : facts.ahead() + (facts.ahead() == 1 ? " due job is" : " due jobs are")
                                    + " ahead of it in claim order"));
        }
        return reasons;
    }

    /** Tenants that have their cap of pending jobs now (none when there is no cap); one statement. */
    public Set<String> tenantsAtPendingCap() {
        var cap = properties.maxPendingPerTenant();
        return cap <= 0
                ? Set.of()
                : Set.copyOf(repository.tenantsWithPending(cap).keySet());
    }

    public QueueStats stats() {
        var now = clock.instant();
        return repository.stats(workerId, now, now.minus(properties.staleAfter()));
    }

    /**
     * Thrown when an enqueue would take a tenant above its cap of pending jobs ({@code MAX_PENDING_PER_INSTALLATION});
     * nothing of that call was enqueued. A handler that lets it escape has its job deferred (pending again later,
     * the attempt not counted); webhook intake answers 429 for that installation.
     */
    public static final class TenantOverCap extends RuntimeException {
        private final String tenant;

        TenantOverCap(String tenant, long pending, int adding, int cap) {
            super("tenant " + tenant + " has " + pending + " pending jobs; "
                    + (adding == 1 ? "one more" : adding + " more") + " would exceed its cap of " + cap
                    + " (MAX_PENDING_PER_INSTALLATION); enqueue again when some have run");
            this.tenant = tenant;
        }

        public String tenant() {
            return tenant;
        }
    }

    /** Thrown for a job kind no handler exists for. */
    public static final class UnknownKindException extends IllegalArgumentException {
        UnknownKindException(String kind, Set<String> known) {
            super("unknown job kind '" + kind + "'; known kinds: "
                    + String.join(", ", known.stream().sorted().toList()));
        }
    }
}
