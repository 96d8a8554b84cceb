package io.bisectbot.dashboard;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import io.bisectbot.queue.JobQueue;
import io.bisectbot.queue.JobReads;
import io.bisectbot.web.Actors;
import io.bisectbot.web.Requires;
import io.bisectbot.web.Role;
import jakarta.servlet.http.HttpServletRequest;
import java.util.List;
import javax.sql.DataSource;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** The JSON the pages read beyond the existing API: the jobs list and the instances. Scripts use it the same way. */
@RestController
@ConditionalOnWebApplication
class JobListController {

    private final JobReads reads;
    private final JobSearch search;
    private final BulkActions bulk;
    private final DeadLetters deadLetters;

    private final JobMinutes minutes;

    JobListController(DataSource dataSource, JobReads reads, JobQueue queue, JobMinutes minutes) {
        this.minutes = minutes;
        this.reads = reads;
        this.search = new JobSearch(reads);
        this.bulk = new BulkActions(queue, reads);
        this.deadLetters = new DeadLetters(JdbcClient.create(dataSource), reads);
    }

    /**
     * One instance as its {@code workers} row says, with the jobs it runs now, the kinds it runs and those it cannot
     * run now; {@code docker} is "unavailable" while some kind waits for its Docker engine, else "ok" (null: an
     * instance of an older version, which does not say).
     */
    record Instance(@JsonUnwrapped JobReads.WorkerRow worker, String docker) {}

    record Instances(List<Instance> instances) {}

    @Requires(Role.VIEWER)
    @GetMapping("/jobs")
    JobReads.Page jobs(
            @RequestParam(required = false) String status,
            @RequestParam(required = false) String kind,
            @RequestParam(required = false) String q,
            @RequestParam(required = false) Long installation,
            @RequestParam(required = false) String from,
            @RequestParam(required = false) String to,
            @RequestParam(required = false) Long after,
            @RequestParam(defaultValue = "" + JobSearch.DEFAULT_LIMIT) int limit) {
        return search.find(JobSearch.parse(status, kind, q, installation, from, to, after, limit));
    }

    /** Body of {@code POST /jobs/bulk}: an action and either the jobs' ids or a filter as {@code GET /jobs} takes it. */
    record BulkRequest(String action, List<Long> ids, BulkFilter filter, Boolean dryRun) {}

    record BulkFilter(String status, String kind, String q, Long installation, String from, String to) {}

    @Requires(Role.OPERATOR)
    @PostMapping("/jobs/bulk")
    BulkActions.Answer bulk(@RequestBody(required = false) BulkRequest request, HttpServletRequest http) {
        if (request == null) {
            throw new IllegalArgumentException("the body must be {\"action\": \"retry\"|\"cancel\", \"ids\": [...]} or "
                    + "{\"action\": ..., \"filter\": {\"status\": ..., \"kind\": ..., \"q\": ...}}");
        }
        var action = BulkActions.Action.parse(request.action());
        if ((request.ids() == null) == (request.filter() == null)) {
            throw new IllegalArgumentException(
                    "give either 'ids' (the selected jobs) or 'filter' (everything matching it), not "
                            + (request.ids() == null ? "neither" : "both"));
        }
        List<Long> ids;
        if (request.ids() != null) {
            if (request.ids().size() > BulkActions.MAX_JOBS) {
                throw new IllegalArgumentException("at most " + BulkActions.MAX_JOBS + " jobs per bulk action, got "
                        + request.ids().size());
            }
            ids = request.ids().stream()
                    .filter(java.util.Objects::nonNull)
                    .distinct()
                    .toList();
        } else {
            var f = request.filter();
            var filter = JobSearch.parse(f.status(), f.kind(), f.q(), f.installation(), f.from(), f.to(), null, 1);
            ids = search.ids(filter, BulkActions.MAX_JOBS + 1);
            if (ids.size() > BulkActions.MAX_JOBS) {
                throw new IllegalArgumentException(
                        "the filter matches more than " + BulkActions.MAX_JOBS + " jobs; a bulk action takes at most "
                                + BulkActions.MAX_JOBS + ": narrow the filter (e.g. a time range)");
            }
        }
        return bulk.apply(action, ids, Boolean.TRUE.equals(request.dryRun()), Actors.of(http));
    }

    /** Jobs enqueued, succeeded, failed and cancelled, and the queue depth, over {@code range} (1h, 24h or 7d). */
    @Requires(Role.VIEWER)
    @GetMapping("/stats/minutes")
    JobMinutes.Series perMinute(@RequestParam(defaultValue = "1h") String range) {
        return minutes.series(JobMinutes.Range.parse(range));
    }

    /** Outbox writes, deliveries and callback events that failed for good, newest first, with their totals. */
    @Requires(Role.VIEWER)
    @GetMapping("/admin/dead-letters")
    DeadLetters.View deadLetters() {
        return deadLetters.read();
    }

    /** Instances not stopped, and those that stopped within the last hour (so a lost one is still seen). */
    @Requires(Role.VIEWER)
    @GetMapping("/workers")
    Instances workers() {
        var rows = reads.instances().stream()
                .map(w -> new Instance(
                        w,
                        w.kinds() == null
                                ? null
                                : w.unreadyKinds() != null && !w.unreadyKinds().isEmpty() ? "unavailable" : "ok"))
                .toList();
        return new Instances(rows);
    }
}
