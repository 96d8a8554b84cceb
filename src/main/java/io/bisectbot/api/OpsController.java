package io.bisectbot.api;

import io.bisectbot.executor.DockerHealth;
import io.bisectbot.queue.JobQueue;
import io.bisectbot.queue.QueueNode;
import io.bisectbot.web.Public;
import io.bisectbot.web.PublicWithStats;
import io.bisectbot.web.Requires;
import io.bisectbot.web.Role;
import io.bisectbot.web.StatsContributor;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.sql.DataSource;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.json.JsonMapper;

/** {@code /health} for the load balancer (public, so it says nothing beyond counts) and {@code /stats} for operators. */
@RestController
@ConditionalOnWebApplication // not in migrate mode, which has no queue
class OpsController {

    private final JdbcClient jdbc;
    private final JobQueue queue;
    private final QueueNode node;
    private final ObjectProvider<DockerHealth> docker;
    private final ObjectProvider<StatsContributor> contributors;
    private final JsonMapper json;

    OpsController(
            DataSource dataSource,
            JobQueue queue,
            QueueNode node,
            ObjectProvider<DockerHealth> docker,
            ObjectProvider<StatsContributor> contributors,
            JsonMapper json) {
        this.contributors = contributors;
        this.json = json;
        this.jdbc = JdbcClient.create(dataSource);
        this.queue = queue;
        this.node = node;
        this.docker = docker;
    }

    record Health(
            String status,
            String database,
            Boolean dockerAvailable,
            int runningJobs,
            boolean draining,
            String liveness,
            long clockOffsetMs) {}

    @Public
    @GetMapping("/health")
    ResponseEntity<Health> health() {
        var databaseUp = databaseAnswers();
        var dockerHealth = docker.getIfAvailable();
        Boolean dockerUp = dockerHealth == null ? null : dockerHealth.isAvailable();
        var status = !databaseUp
                ? "down"
                : node.isDraining() ? "draining" : Boolean.FALSE.equals(dockerUp) ? "degraded" : "ok";
        var body = new Health(
                status,
                databaseUp ? "up" : "unreachable",
                dockerUp,
                node.runningJobs(),
                node.isDraining(),
                node.liveness(),
                node.clockOffsetMillis());
        // Degraded and draining still serve webhooks and the API; only a lost database takes the instance out of
        // rotation. (A 503 while draining would fail the health requests that reach it through the load balancer.)
        return ResponseEntity.status(databaseUp ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE)
                .body(body);
    }

    private boolean databaseAnswers() {
        try {
            return jdbc.sql("SELECT 1").query(Integer.class).single() == 1;
        } catch (RuntimeException e) {
            return false;
        }
    }

    @Requires(Role.VIEWER)
    @PublicWithStats
    @GetMapping("/stats")
    Map<String, Object> stats() {
        var body = new LinkedHashMap<String, Object>(json.convertValue(queue.stats(), Map.class));
        contributors.orderedStream().forEach(contributor -> body.put(contributor.name(), contributor.stats()));
        return body;
    }
}
