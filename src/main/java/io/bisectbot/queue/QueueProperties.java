package io.bisectbot.queue;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Queue settings. The trade-off: a shorter {@code staleAfter} re-runs the jobs of a dead instance sooner, but a GC
 * pause or network blip longer than it makes a healthy instance lose its jobs (the fence keeps that safe, only
 * wasteful). Keep {@code staleAfter} at several {@code heartbeatInterval}s.
 *
 * @param workerId            this instance's worker id; unset: {@code hostname-pid-starttime}
 * @param maxConcurrentJobs   jobs (and so containers) this instance runs at once
 * @param pollInterval        how often an idle instance looks for due jobs without a notification
 * @param heartbeatInterval   how often the instance proves itself and its jobs alive
 * @param staleAfter          a running job without heartbeat this long is taken back; at least twice
 *                            {@code HEARTBEAT_INTERVAL}
 * @param recoveryInterval    how often each instance looks for stale jobs
 * @param shutdownGrace       how long running jobs may finish after SIGTERM before release
 * @param retryBackoffBase    delay before attempt n is base·2ⁿ⁻², jittered 50–100 %, capped at
 *                            {@code RETRY_BACKOFF_MAX}
 * @param retryBackoffMax     the largest delay between attempts
 * @param completionBatchSize most job completions written in one statement
 * @param maxPendingPerTenant most pending jobs of one tenant (GitHub App installation); more are refused (webhooks:
 *                            429, for that installation's deliveries only); {@code 0} for no cap
 * @param maxRunningPerTenant most jobs of one tenant running at once across all instances; {@code 0} for no cap
 * @param retention           finished jobs (with their history, logs and bisect steps) are deleted this long after
 *                            they ended; {@code 0} keeps them
 * @param livenessLocks       {@code auto}, {@code on} or {@code off}: whether the instance holds a session advisory
 *                            lock so others see its crash at once ({@code auto}: unless a transaction-mode pooler is
 *                            detected; {@code off}: heartbeats only, e.g. behind PgBouncer in transaction mode)
 * @param livenessTimeout     an instance whose lock is unconfirmed for ¾ of this stops its jobs (unless the database
 *                            server is down or restarted); a crashed instance's jobs run again this long after its
 *                            lock is gone (200 ms to {@code JOB_STALE_AFTER})
 */
@ConfigurationProperties("bisectbot.queue")
public record QueueProperties(
        String workerId,
        @DefaultValue("2") int maxConcurrentJobs,
        @DefaultValue("1s") Duration pollInterval,
        @DefaultValue("5s") Duration heartbeatInterval,
        @DefaultValue("30s") Duration staleAfter,
        @DefaultValue("5s") Duration recoveryInterval,
        @DefaultValue("30s") Duration shutdownGrace,
        @DefaultValue("1s") Duration retryBackoffBase,
        @DefaultValue("5m") Duration retryBackoffMax,
        @DefaultValue("500") int completionBatchSize,
        @DefaultValue("1000") int maxPendingPerTenant,
        @DefaultValue("10") int maxRunningPerTenant,
        @DefaultValue("auto") String livenessLocks,
        @DefaultValue("1s") Duration livenessTimeout,
        @DefaultValue("30d") Duration retention) {

    /** How an instance proves it is alive besides heartbeats. */
    public enum LivenessMode {
        AUTO,
        ON,
        OFF
    }

    public QueueProperties {
        if (maxConcurrentJobs < 0) {
            throw new IllegalArgumentException("MAX_CONCURRENT_JOBS must be 0 or more, got " + maxConcurrentJobs);
        }
        if (maxPendingPerTenant < 0) {
            throw new IllegalArgumentException(
                    "MAX_PENDING_PER_INSTALLATION must be 0 (no cap) or more, got " + maxPendingPerTenant);
        }
        if (maxRunningPerTenant < 0) {
            throw new IllegalArgumentException(
                    "MAX_RUNNING_PER_INSTALLATION must be 0 (no cap) or more, got " + maxRunningPerTenant);
        }
        if (staleAfter.compareTo(heartbeatInterval.multipliedBy(2)) < 0) {
            throw new IllegalArgumentException("JOB_STALE_AFTER (" + staleAfter + ") must be at least twice "
                    + "HEARTBEAT_INTERVAL (" + heartbeatInterval + "), or healthy instances lose their jobs");
        }
        livenessMode(livenessLocks);
        if (livenessTimeout.compareTo(Duration.ofMillis(200)) < 0 || livenessTimeout.compareTo(staleAfter) > 0) {
            throw new IllegalArgumentException("LIVENESS_TIMEOUT (" + livenessTimeout + ") must be between 200ms and "
                    + "JOB_STALE_AFTER (" + staleAfter + ")");
        }
    }

    public LivenessMode livenessMode() {
        return livenessMode(livenessLocks);
    }

    private static LivenessMode livenessMode(String value) {
        var text = value == null || value.isBlank() ? "auto" : value.trim();
        return switch (text.toLowerCase(java.util.Locale.ROOT)) {
            case "auto" -> LivenessMode.AUTO;
            case "on", "true" -> LivenessMode.ON;
            case "off", "false" -> LivenessMode.OFF;
            default ->
                throw new IllegalArgumentException("LIVENESS_LOCKS must be auto, on or off, got '" + value + "'");
        };
    }

    /** The defaults above, for code that builds a queue without Spring (tests, benchmarks). */
    public static QueueProperties defaults() {
        return new Binder().bindOrCreate("bisectbot.queue", QueueProperties.class);
    }

    public QueueProperties withWorkerId(String value) {
        return new QueueProperties(
                value,
                maxConcurrentJobs,
                pollInterval,
                heartbeatInterval,
                staleAfter,
                recoveryInterval,
                shutdownGrace,
                retryBackoffBase,
                retryBackoffMax,
                completionBatchSize,
                maxPendingPerTenant,
                maxRunningPerTenant,
                livenessLocks,
                livenessTimeout,
                retention);
    }

    public QueueProperties withMaxConcurrentJobs(int value) {
        return new QueueProperties(
                workerId,
                value,
                pollInterval,
                heartbeatInterval,
                staleAfter,
                recoveryInterval,
                shutdownGrace,
                retryBackoffBase,
                retryBackoffMax,
                completionBatchSize,
                maxPendingPerTenant,
                maxRunningPerTenant,
                livenessLocks,
                livenessTimeout,
                retention);
    }

    public QueueProperties withTimings(Duration poll, Duration heartbeat, Duration stale, Duration recovery) {
        return new QueueProperties(
                workerId,
                maxConcurrentJobs,
                poll,
                heartbeat,
                stale,
                recovery,
                shutdownGrace,
                retryBackoffBase,
                retryBackoffMax,
                completionBatchSize,
                maxPendingPerTenant,
                maxRunningPerTenant,
                livenessLocks,
                livenessTimeout,
                retention);
    }

    public QueueProperties withShutdownGrace(Duration value) {
        return new QueueProperties(
                workerId,
                maxConcurrentJobs,
                pollInterval,
                heartbeatInterval,
                staleAfter,
                recoveryInterval,
                value,
                retryBackoffBase,
                retryBackoffMax,
                completionBatchSize,
                maxPendingPerTenant,
                maxRunningPerTenant,
                livenessLocks,
                livenessTimeout,
                retention);
    }

    public QueueProperties withRetryBackoff(Duration base, Duration max) {
        return new QueueProperties(
                workerId,
                maxConcurrentJobs,
                pollInterval,
                heartbeatInterval,
                staleAfter,
                recoveryInterval,
                shutdownGrace,
                base,
                max,
                completionBatchSize,
                maxPendingPerTenant,
                maxRunningPerTenant,
                livenessLocks,
                livenessTimeout,
                retention);
    }

    public QueueProperties withTenantCaps(int maxPending, int maxRunning) {
        return new QueueProperties(
                workerId,
                maxConcurrentJobs,
                pollInterval,
                heartbeatInterval,
                staleAfter,
                recoveryInterval,
                shutdownGrace,
                retryBackoffBase,
                retryBackoffMax,
                completionBatchSize,
                maxPending,
                maxRunning,
                livenessLocks,
                livenessTimeout,
                retention);
    }

    public QueueProperties withLiveness(String locks, Duration timeout) {
        return new QueueProperties(
                workerId,
                maxConcurrentJobs,
                pollInterval,
                heartbeatInterval,
                staleAfter,
                recoveryInterval,
                shutdownGrace,
                retryBackoffBase,
                retryBackoffMax,
                completionBatchSize,
                maxPendingPerTenant,
                maxRunningPerTenant,
                locks,
                timeout,
                retention);
    }
}
