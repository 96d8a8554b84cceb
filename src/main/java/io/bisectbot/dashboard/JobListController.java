package io.bisectbot.dashboard;

import io.bisectbot.web.Requires;
import io.bisectbot.web.Role;
import java.time.Instant;
import java.util.List;
import javax.sql.DataSource;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** The JSON the pages read beyond the existing API: the jobs list and the instances. Scripts use it the same way. */
@RestController
@ConditionalOnWebApplication
class JobListController {

    private final JdbcClient jdbc;
    private final JobSearch search;

    JobListController(DataSource dataSource) {
        this.jdbc = JdbcClient.create(dataSource);
        this.search = new JobSearch(jdbc);
    }

    /** One instance as its {@code workers} row says, with the jobs it runs now. */
    record Instance(String id, String state, String version, int maxConcurrentJobs, long runningJobs, Instant startedAt,
                    Instant heartbeatAt) {
    }

    record Instances(List<Instance> instances) {
    }

    @Requires(Role.VIEWER)
    @GetMapping("/jobs")
    JobSearch.Page jobs(@RequestParam(required = false) String status, @RequestParam(required = false) String kind,
                        @RequestParam(required = false) String q, @RequestParam(required = false) Long after,
                        @RequestParam(defaultValue = "" + JobSearch.DEFAULT_LIMIT) int limit) {
        return search.find(new JobSearch.Filter(JobSearch.Filter.statuses(status), kind, q, after, limit));
    }

    /** Instances not stopped, and those that stopped within the last hour (so a lost one is still seen). */
    @Requires(Role.VIEWER)
    @GetMapping("/workers")
    Instances workers() {
        var rows = jdbc.sql("""
                        SELECT w.id, w.state, w.version, w.max_concurrent_jobs, w.started_at, w.heartbeat_at,
                               (SELECT count(*) FROM jobs j WHERE j.status = 'RUNNING' AND j.worker_id = w.id) AS running
                          FROM workers w
                         WHERE w.state <> 'STOPPED' OR w.heartbeat_at > now() - interval '1 hour'
                         ORDER BY w.state, w.id""")
                .query((rs, n) -> new Instance(rs.getString("id"), rs.getString("state"), rs.getString("version"),
                        rs.getInt("max_concurrent_jobs"), rs.getLong("running"), JobSearch.instant(rs, "started_at"),
                        JobSearch.instant(rs, "heartbeat_at")))
                .list();
        return new Instances(rows);
    }
}
