package io.bisectbot.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.bisectbot.TestDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code GET /job/{id}} of a pending job says why it is not running. This instance runs no job (no slot), so the other
 * instances are rows written here, as their heartbeats would write them.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class WhyNotRunningApiTest {

    static final String VIEWER = "viewer-token-of-the-waiting-test";
    private static final JsonMapper json = JsonMapper.builder().build();
    private final HttpClient http = HttpClient.newHttpClient();

    @LocalServerPort
    int port;

    @Autowired
    DataSource dataSource;

    @DynamicPropertySource
    static void settings(DynamicPropertyRegistry registry) {
        TestDatabase.register(registry);
        registry.add("bisectbot.web.viewer-token", () -> VIEWER);
        registry.add("bisectbot.queue.max-concurrent-jobs", () -> "0");
        registry.add("bisectbot.queue.max-running-per-tenant", () -> "1");
    }

    JdbcClient jdbc() {
        return JdbcClient.create(dataSource);
    }

    @BeforeEach
    void thisInstanceHasSaidWhatItRuns() {
        await().atMost(Duration.ofSeconds(20))
                .until(() -> jdbc().sql("SELECT count(*) FROM workers WHERE kinds IS NOT NULL")
                                .query(Long.class)
                                .single()
                        > 0);
    }

    /** Another instance, alive now, running {@code kinds} with {@code slots} slots; {@code unready} wait for Docker. */
    void otherInstance(String id, int slots, String kinds, String unready) {
        jdbc().sql("""
                        INSERT INTO workers (id, started_at, heartbeat_at, state, version, max_concurrent_jobs, kinds, unready_kinds)
                        VALUES (:id, now(), now(), 'RUNNING', 'test', :slots, CAST(:kinds AS text[]), CAST(:unready AS text[]))""")
                .param("id", id)
                .param("slots", slots)
                .param("kinds", kinds)
                .param("unready", unready)
                .update();
    }

    long job(String kind, String status, String tenant, String runAt, int attempts, String worker) {
        return jdbc().sql("""
                        INSERT INTO jobs (kind, status, tenant, run_at, attempt_count, worker_id, heartbeat_at)
                        VALUES (:kind, :status, :tenant, now() + CAST(:run_at AS interval), :attempts, :worker,
                                CASE WHEN :status = 'RUNNING' THEN now() END)
                        RETURNING id""")
                .param("kind", kind)
                .param("status", status)
                .param("tenant", tenant)
                .param("run_at", runAt)
                .param("attempts", attempts)
                .param("worker", worker)
                .query(Long.class)
                .single();
    }

    List<String> why(long id) throws Exception {
        var response = http.send(
                HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/job/" + id))
                        .header("Authorization", "Bearer " + VIEWER)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        var reasons = new ArrayList<String>();
        for (JsonNode reason : json.readTree(response.body()).get("waiting")) {
            reasons.add(
                    reason.get("code").asString() + ": " + reason.get("message").asString());
        }
        return reasons;
    }

    @Test
    void a_job_waiting_out_its_backoff_is_due_in_so_many_seconds() throws Exception {
        var id = job("noop", "PENDING", null, "90 seconds", 1, null);
        assertThat(why(id).getFirst()).matches("not_due: due in (89|90) s, the backoff after attempt 1 failed");
    }

    @Test
    void with_every_slot_busy_there_is_no_free_slot() throws Exception {
        var id = job("noop", "PENDING", null, "0 seconds", 0, null);
        assertThat(why(id))
                .containsExactly("no_free_slot: no free slot: all 0 slots of the 1 instance that run 'noop' are busy");
    }

    @Test
    void a_kind_no_live_instance_has_a_handler_for_is_disabled_everywhere() throws Exception {
        var id = job("gpu-render", "PENDING", null, "0 seconds", 0, null);
        assertThat(why(id))
                .singleElement()
                .asString()
                .startsWith("kind_disabled: kind 'gpu-render' is disabled on every live instance");
    }

    @Test
    void a_kind_whose_instances_all_lack_docker_waits_for_docker() throws Exception {
        otherInstance("docker-down", 2, "{bisect-like}", "{bisect-like}");
        var id = job("bisect-like", "PENDING", null, "0 seconds", 0, null);
        assertThat(why(id))
                .singleElement()
                .asString()
                .startsWith(
                        "docker_unavailable: Docker is unavailable on every live instance that runs 'bisect-like' (1)");
    }

    @Test
    void an_installation_at_its_running_cap_waits_for_its_own_jobs_to_end() throws Exception {
        otherInstance("free-slots", 4, "{tenant-kind}", "{}");
        job("tenant-kind", "RUNNING", "installation:5", "0 seconds", 1, "free-slots");
        var id = job("tenant-kind", "PENDING", "installation:5", "0 seconds", 0, null);
        assertThat(why(id))
                .containsExactly(
                        "tenant_cap: installation 5 is at its cap: 1 of 1 jobs running (MAX_RUNNING_PER_INSTALLATION)");
        var other = job("tenant-kind", "PENDING", "installation:6", "0 seconds", 0, null);
        assertThat(why(other)).singleElement().asString().startsWith("queued: ");
    }
}
