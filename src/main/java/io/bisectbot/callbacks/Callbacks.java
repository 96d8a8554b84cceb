package io.bisectbot.callbacks;

import io.bisectbot.bisect.BisectJobHandler;
import io.bisectbot.bots.BotRequest;
import io.bisectbot.bots.BotTriggers;
import io.bisectbot.queue.Job;
import io.bisectbot.queue.JobQueue;
import io.bisectbot.queue.NewJob;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.JsonNode;

/**
 * Signed job callbacks: a job may carry {@code callbacks: [{url, events}]}; when one of those events happens the
 * service POSTs a signed JSON event to the URL (at least once, in order per job and URL). This is what the rest of
 * the service uses: parse and check a request's callbacks, enqueue a job together with them, show a job's
 * deliveries, replay dead letters. Receivers check events with {@link CallbackVerifier}.
 */
public final class Callbacks {

    private static final Logger log = LoggerFactory.getLogger(Callbacks.class);
    /** The job event that says a callback of the repository's config was dropped, and why. */
    static final String REFUSED_EVENT = "callback_refused";

    /** The events of a job's end; each job has at most one of them. */
    public static final Set<String> FINAL_EVENTS = Set.of("succeeded", "failed", "cancelled");
    /** Every event a callback may ask for, in the order errors list them. */
    public static final List<String> EVENTS = List.of("succeeded", "failed", "cancelled", "progress");

    private static final List<String> DEFAULT_EVENTS = List.of("succeeded", "failed", "cancelled");
    private static final Set<String> GITHUB_KINDS = Set.of(BisectJobHandler.KIND, BotRequest.KIND);

    /** One callback of a job: where to, and for which events. */
    public record Subscription(String url, List<String> events) {}

    /** One attempt to deliver an event. */
    public record Attempt(Instant at, Integer statusCode, String error, long durationMs) {}

    /** An event owed to a callback, with its attempts, as {@code GET /job/{id}} shows it. */
    public record EventView(
            String eventId,
            String url,
            String type,
            String status,
            int attempts,
            Instant createdAt,
            Instant nextAttemptAt,
            Instant doneAt,
            String lastError,
            List<Attempt> attemptLog) {}

    private final CallbackOutbox outbox;
    private final CallbackTargets targets;
    private final CallbackProperties properties;
    private final TransactionTemplate transactions;
    private final List<Subscription> githubDefaults;
    private final JobQueue queue;

    Callbacks(
            CallbackOutbox outbox,
            CallbackTargets targets,
            CallbackProperties properties,
            DataSource dataSource,
            JobQueue queue) {
        this.queue = queue;
        this.outbox = outbox;
        this.targets = targets;
        this.properties = properties;
        this.transactions = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
        var defaults = new ArrayList<Subscription>();
        for (var url : properties.urlList()) {
            try {
                targets.check(url);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("CALLBACK_URLS: " + e.getMessage(), e);
            }
            defaults.add(new Subscription(url, DEFAULT_EVENTS));
        }
        this.githubDefaults = List.copyOf(defaults);
    }

    /**
     * The {@code callbacks} of a request: absent or null is none; otherwise a list of {@code {url, events}}, each URL
     * allowed and each event known ({@code events} defaults to the three final ones).
     *
     * @throws IllegalArgumentException saying what is wrong, with the value and what would be right
     */
    public List<Subscription> parse(JsonNode callbacks) {
        if (callbacks == null || callbacks.isNull() || callbacks.isMissingNode()) {
            return List.of();
        }
        if (!callbacks.isArray()) {
            throw new IllegalArgumentException(
                    "'callbacks' must be a list of {\"url\": \"https://...\", \"events\": [...]}, got "
                            + callbacks.getNodeType().name().toLowerCase(java.util.Locale.ROOT));
        }
        if (callbacks.isEmpty()) {
            return List.of();
        }
        if (callbacks.size() > properties.maxPerJob()) {
            throw new IllegalArgumentException("a job may carry at most " + properties.maxPerJob() + " callbacks "
                    + "(CALLBACK_MAX_PER_JOB), got " + callbacks.size());
        }
        if (properties.secretList().isEmpty()) {
            throw new IllegalArgumentException("this instance cannot sign callbacks: CALLBACK_SECRETS is not set");
        }
        var parsed = new ArrayList<Subscription>();
        var urls = new HashSet<String>();
        for (var callback : callbacks) {
            var subscription = subscription(callback);
            if (!urls.add(subscription.url())) {
                throw new IllegalArgumentException("callback url '" + CallbackDelivery.safeUrl(subscription.url())
                        + "' is listed twice; list each url once with all its events");
            }
            parsed.add(subscription);
        }
        return List.copyOf(parsed);
    }

    /** One {@code {url, events}}, its URL allowed and each event known; an {@link IllegalArgumentException} says why not. */
    private Subscription subscription(JsonNode callback) {
        if (!callback.isObject()) {
            throw new IllegalArgumentException(
                    "each callback must be an object {\"url\": \"https://...\", \"events\": [...]}, got " + callback);
        }
        for (var name : callback.propertyNames()) {
            if (!name.equals("url") && !name.equals("events")) {
                throw new IllegalArgumentException(
                        "unknown callback field '" + name + "'; a callback has 'url' and 'events'");
            }
        }
        var url = callback.path("url").isString() ? callback.path("url").asString() : null;
        targets.check(url);
        var events = new LinkedHashSet<String>();
        var node = callback.path("events");
        if (node.isMissingNode() || node.isNull()) {
            events.addAll(DEFAULT_EVENTS);
        } else if (!node.isArray() || node.isEmpty()) {
            throw new IllegalArgumentException(
                    "callback 'events' must be a non-empty list of " + EVENTS + ", got " + node);
        } else {
            for (var event : node) {
                if (!event.isString() || !EVENTS.contains(event.asString())) {
                    throw new IllegalArgumentException("unknown callback event " + event + "; events are " + EVENTS);
                }
                events.add(event.asString());
            }
        }
        return new Subscription(url, List.copyOf(events));
    }

    /**
     * Enqueues the job and stores its callbacks in one transaction, so a job never runs without the callbacks it was
     * asked with. A job that already existed (its dedup key) keeps the callbacks it has.
     */
    public JobQueue.Enqueued enqueue(JobQueue queue, NewJob job, List<Subscription> subscriptions) {
        if (subscriptions.isEmpty()) {
            return queue.enqueue(job);
        }
        return transactions.execute(tx -> {
            var enqueued = queue.enqueue(job);
            if (enqueued.created()) {
                outbox.subscribe(enqueued.job().id(), subscriptions);
            }
            return enqueued;
        });
    }

    /**
     * A job started from GitHub (bisect or bot, of an installation) reports to {@code CALLBACK_URLS} and to the
     * callbacks of its repository's default branch config, which its payload carries.
     */
    void created(Job job) {
        if (job.tenant() == null || !job.tenant().startsWith("installation:") || !GITHUB_KINDS.contains(job.kind())) {
            return;
        }
        var events = new LinkedHashMap<String, LinkedHashSet<String>>();
        for (var subscription : githubDefaults) {
            events.put(subscription.url(), new LinkedHashSet<>(subscription.events()));
        }
        fromRepository(job, events);
        if (!events.isEmpty()) {
            outbox.subscribe(
                    job.id(),
                    events.entrySet().stream()
                            .map(e -> new Subscription(e.getKey(), List.copyOf(e.getValue())))
                            .toList());
        }
    }

    /**
     * Adds the repository's callbacks to {@code events} (by URL), each checked as a request's is, and no more than
     * {@code CALLBACK_MAX_PER_JOB} URLs in all ({@code CALLBACK_URLS} first). Only the repository's writers can set
     * them (the default branch's config alone is read), yet a repository must not reach the private network: one
     * that is not allowed is dropped, with a note on the job and in the log, and the job runs with the others.
     */
    private void fromRepository(Job job, LinkedHashMap<String, LinkedHashSet<String>> events) {
        var asked = job.payload().path(BotTriggers.REPO_CALLBACKS);
        if (!asked.isArray() || asked.isEmpty()) {
            return;
        }
        if (properties.secretList().isEmpty()) {
            refused(
                    job,
                    "the callbacks of the repository's config are dropped: this instance cannot sign callbacks "
                            + "(CALLBACK_SECRETS is not set)");
            return;
        }
        for (int i = 0; i < asked.size(); i++) {
            var which = "callback " + (i + 1) + " of the repository's config";
            Subscription subscription;
            try {
                subscription = subscription(asked.get(i));
            } catch (IllegalArgumentException e) {
                // The note is shown with the job: a query string (a token, perhaps) is left out of it.
                var url = asked.get(i).path("url").asString("");
                var why = e.getMessage();
                refused(
                        job,
                        which + " is dropped: "
                                + (url.isEmpty() ? why : why.replace(url, CallbackDelivery.safeUrl(url))));
                continue;
            }
            if (!events.containsKey(subscription.url()) && events.size() >= properties.maxPerJob()) {
                refused(
                        job,
                        which + " (" + CallbackDelivery.safeUrl(subscription.url())
                                + ") is dropped: a job may carry at most " + properties.maxPerJob()
                                + " callbacks (CALLBACK_MAX_PER_JOB)");
                continue;
            }
            events.computeIfAbsent(subscription.url(), url -> new LinkedHashSet<>())
                    .addAll(subscription.events());
        }
    }

    private void refused(Job job, String why) {
        log.warn("Job {}: {}", job.id(), why);
        queue.note(job.id(), REFUSED_EVENT, why);
    }

    /** Whether one of the job's callbacks asked for {@code type} events. */
    boolean wants(long jobId, String type) {
        return outbox.subscribed(jobId, type);
    }

    /** A {@code progress} event for the job's callbacks that asked for one; {@code detail} becomes its {@code progress}. */
    public void progress(long jobId, JsonNode detail) {
        outbox.add(jobId, "progress", detail);
    }

    /** The job's events and their attempts, oldest first. */
    public List<EventView> forJob(long jobId) {
        return outbox.forJob(jobId);
    }

    /**
     * Puts dead-lettered events back in line: those of job {@code jobId}, or dead-lettered at or after {@code since}
     * (both may be given; at least one must). Returns how many.
     */
    public int replay(Long jobId, Instant since) {
        if (jobId == null && since == null) {
            throw new IllegalArgumentException(
                    "say which dead letters to replay: a job (job: N) or a time (since: ISO-8601)");
        }
        return outbox.replay(jobId, since);
    }
}
