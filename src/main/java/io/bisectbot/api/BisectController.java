package io.bisectbot.api;

import io.bisectbot.bisect.BisectHistory;
import io.bisectbot.bisect.BisectJobHandler;
import io.bisectbot.bisect.BisectProperties;
import io.bisectbot.bisect.BisectRequest;
import io.bisectbot.callbacks.Callbacks;
import io.bisectbot.executor.ExecutorProperties;
import io.bisectbot.queue.JobQueue;
import io.bisectbot.queue.JobStatus;
import io.bisectbot.queue.NewJob;
import io.bisectbot.web.Requires;
import io.bisectbot.web.Role;
import io.bisectbot.web.SharedByLink;
import java.util.Map;
import javax.sql.DataSource;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;
import tools.jackson.databind.JsonNode;

/**
 * Starting a bisection without GitHub (admin), following one (viewer), and reading a finished one's report (viewer, or
 * a share link).
 */
@RestController
@ConditionalOnWebApplication // not in migrate mode, which has no queue
class BisectController {

    private final JobQueue queue;
    private final BisectProperties properties;
    private final ExecutorProperties executor;
    private final ObjectProvider<Callbacks> callbacks;
    private final BisectHistory history;

    BisectController(
            JobQueue queue,
            BisectProperties properties,
            ExecutorProperties executor,
            ObjectProvider<Callbacks> callbacks,
            DataSource dataSource) {
        this.queue = queue;
        this.properties = properties;
        this.executor = executor;
        this.callbacks = callbacks;
        this.history = new BisectHistory(JdbcClient.create(dataSource));
    }

    /**
     * Body: {@code repo}, {@code good} (ref or list), {@code bad}, {@code command} (shell string or argv list), and
     * optionally {@code image}, {@code timeout_seconds}, {@code parallelism}, {@code repeat}, {@code repeat_rule},
     * {@code timeout_verdict}, {@code terms}, {@code first_parent}, {@code dedup_key}, {@code callbacks}, and for performance regressions
     * {@code mode: metric} with {@code metric}, {@code direction}, {@code threshold}, {@code alpha}, {@code max_repeat}.
     */
    @Requires(Role.ADMIN)
    @PostMapping("/bisect")
    ResponseEntity<Map<String, Object>> start(@RequestBody JsonNode body) {
        if (body == null || !body.isObject()) {
            throw new IllegalArgumentException("the body must be a JSON object describing the bisection");
        }
        if (body.path("repo").isString()) {
            RepoUrls.refuseCredentials(body.get("repo").asString());
        }
        var request = BisectRequest.parse(body, properties, executor.defaultImage());
        var dedupKey = body.path("dedup_key").asString(null);
        var job = NewJob.of(BisectJobHandler.KIND, request.toPayload())
                .withDedupKey(dedupKey == null || dedupKey.isBlank() ? null : dedupKey);
        var enqueued = JobController.enqueue(callbacks, queue, job, body.get("callbacks"));
        return ResponseEntity.status(enqueued.created() ? HttpStatus.CREATED : HttpStatus.OK)
                .body(Map.of(
                        "id",
                        enqueued.job().id(),
                        "status",
                        enqueued.job().status(),
                        "job_url",
                        "/job/" + enqueued.job().id(),
                        "report_url",
                        "/job/" + enqueued.job().id() + "/report"));
    }

    @Requires(Role.VIEWER)
    @SharedByLink
    @GetMapping(value = "/job/{id}/report", produces = "text/markdown;charset=UTF-8")
    ResponseEntity<String> report(@PathVariable long id) {
        var job = queue.find(id)
                .orElseThrow(() -> new ResponseStatusException(HttpStatus.NOT_FOUND, "job " + id + " does not exist"));
        if (!BisectJobHandler.KIND.equals(job.kind())) {
            throw new ResponseStatusException(
                    HttpStatus.NOT_FOUND,
                    "job " + id + " is a '" + job.kind() + "' job; only bisect jobs have reports");
        }
        if (job.result() == null || !job.result().has("report")) {
            var why = job.status() == JobStatus.FAILED ? "it failed: " + job.lastError() : "it is " + job.status();
            throw new ResponseStatusException(HttpStatus.CONFLICT, "job " + id + " has no report yet: " + why);
        }
        return ResponseEntity.ok()
                .contentType(MediaType.parseMediaType("text/markdown;charset=UTF-8"))
                .body(job.result().get("report").asString());
    }

    /**
     * What the job's page shows of a bisect job (see {@link BisectView}); read while it runs, so the page can follow
     * the range as it narrows.
     */
    @Requires(Role.VIEWER)
    @GetMapping("/job/{id}/bisect")
    BisectView bisect(@PathVariable long id) {
        var job = queue.find(id)
                .orElseThrow(() -> new ResponseStatusException(HttpStatus.NOT_FOUND, "job " + id + " does not exist"));
        if (!BisectJobHandler.KIND.equals(job.kind())) {
            throw new ResponseStatusException(
                    HttpStatus.NOT_FOUND,
                    "job " + id + " is a '" + job.kind() + "' job; only bisect jobs have a bisection to show");
        }
        return BisectView.of(job, history.steps(id), history.rounds(id));
    }

    /**
     * The chart of a metric-mode job's measurements, with the report's access rule. Served with a policy that lets
     * the SVG run nothing, so even markup that slipped into it could not act on this origin.
     */
    @Requires(Role.VIEWER)
    @SharedByLink
    @GetMapping(value = "/job/{id}/chart.svg", produces = "image/svg+xml")
    ResponseEntity<String> chart(@PathVariable long id) {
        var job = queue.find(id)
                .orElseThrow(() -> new ResponseStatusException(HttpStatus.NOT_FOUND, "job " + id + " does not exist"));
        if (!BisectJobHandler.KIND.equals(job.kind())) {
            throw new ResponseStatusException(
                    HttpStatus.NOT_FOUND, "job " + id + " is a '" + job.kind() + "' job; only bisect jobs have charts");
        }
        if (job.result() == null || !job.result().has("report")) {
            var why = job.status() == JobStatus.FAILED ? "it failed: " + job.lastError() : "it is " + job.status();
            throw new ResponseStatusException(HttpStatus.CONFLICT, "job " + id + " has no chart yet: " + why);
        }
        var svg = job.result().path("metric").path("chart_svg");
        if (!svg.isString()) {
            throw new ResponseStatusException(
                    HttpStatus.NOT_FOUND,
                    "job " + id + " has no chart: only \"mode\": \"metric\" " + "bisections measure commits");
        }
        return ResponseEntity.ok()
                .contentType(MediaType.parseMediaType("image/svg+xml"))
                .header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
                .header("X-Content-Type-Options", "nosniff")
                .body(svg.asString());
    }
}
