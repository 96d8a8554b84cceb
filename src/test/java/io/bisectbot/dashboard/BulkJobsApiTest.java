package io.bisectbot.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import io.bisectbot.JsonCalls;
import io.bisectbot.JsonCalls.Reply;
import io.bisectbot.TestDatabase;
import io.bisectbot.web.Actors;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** {@code POST /jobs/bulk} as a script calls it: selected ids or a whole filter, a dry run for the count, a bound. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class BulkJobsApiTest {

    static final String OPERATOR = "operator-token-of-the-bulk-test";
    static final String VIEWER = "viewer-token-of-the-bulk-test";

    @LocalServerPort
    int port;

    @Autowired
    DataSource dataSource;

    @DynamicPropertySource
    static void settings(DynamicPropertyRegistry registry) {
        TestDatabase.register(registry);
        registry.add("bisectbot.web.operator-token", () -> OPERATOR);
        registry.add("bisectbot.web.viewer-token", () -> VIEWER);
        // No job of this test may start: cancelled and retried jobs stay as the assertions expect.
        registry.add("bisectbot.queue.max-concurrent-jobs", () -> "0");
    }

    Reply bulk(String body, String token) throws Exception {
        return JsonCalls.send(port, "POST", "/jobs/bulk", body, token);
    }

    JdbcClient jdbc() {
        return JdbcClient.create(dataSource);
    }

    long insert(String status, String marker) {
        return jdbc().sql("""
                        INSERT INTO jobs (kind, status, last_error, run_at, finished_at)
                        VALUES ('noop', :status, :error, now() + interval '1 day',
                                CASE WHEN :status IN ('FAILED', 'CANCELLED', 'SUCCEEDED') THEN now() END) RETURNING id""")
                .param("status", status)
                .param("error", "an earlier attempt failed: " + marker)
                .query(Long.class)
                .single();
    }

    String status(long id) {
        return jdbc().sql("SELECT status FROM jobs WHERE id = :id")
                .param("id", id)
                .query(String.class)
                .single();
    }

    long retriesOf(List<Long> ids) {
        return jdbc().sql("SELECT count(*) FROM jobs WHERE retry_of IN (:ids)")
                .param("ids", ids)
                .query(Long.class)
                .single();
    }

    @Test
    void a_dry_run_counts_what_a_filter_would_retry_and_the_real_run_retries_exactly_those() throws Exception {
        var marker = "bulk-filter-" + System.nanoTime();
        var failed = List.of(insert("FAILED", marker), insert("FAILED", marker), insert("CANCELLED", marker));
        var succeeded = insert("SUCCEEDED", marker);
        var filter = "{\"action\":\"retry\",\"filter\":{\"q\":\"" + marker + "\"}";

        var dry = bulk(filter + ",\"dry_run\":true}", OPERATOR);
        assertThat(dry.status()).isEqualTo(200);
        assertThat(dry.body().get("matched").asInt()).isEqualTo(4);
        assertThat(dry.body().get("eligible").asInt())
                .as("the succeeded job cannot be retried")
                .isEqualTo(3);
        assertThat(dry.body().get("skipped").asInt()).isEqualTo(1);
        assertThat(retriesOf(failed)).as("a dry run changes nothing").isZero();

        var done = bulk(filter + "}", OPERATOR);
        assertThat(done.body().get("done").asInt()).isEqualTo(3);
        assertThat(retriesOf(failed)).isEqualTo(3);
        assertThat(retriesOf(List.of(succeeded))).isZero();
        var again = bulk(filter + "}", OPERATOR);
        assertThat(again.body().get("done").asInt())
                .as("each job is retried once")
                .isZero();
        assertThat(retriesOf(failed)).isEqualTo(3);
    }

    @Test
    void cancelling_selected_ids_records_who_did_it_in_each_job_s_history() throws Exception {
        var marker = "bulk-ids-" + System.nanoTime();
        var pending = insert("PENDING", marker);
        var finished = insert("SUCCEEDED", marker);
        var answer = bulk("{\"action\":\"cancel\",\"ids\":[" + pending + "," + finished + ",999999999]}", OPERATOR)
                .body();
        assertThat(answer.get("matched").asInt()).isEqualTo(3);
        assertThat(answer.get("done").asInt()).isEqualTo(1);
        assertThat(answer.get("skipped").asInt()).isEqualTo(1);
        assertThat(answer.get("missing").asInt()).isEqualTo(1);
        assertThat(List.of(status(pending), status(finished))).containsExactly("CANCELLED", "SUCCEEDED");
        var actor = jdbc().sql("SELECT actor FROM job_events WHERE job_id = :id AND type = 'cancelled'")
                .param("id", pending)
                .query(String.class)
                .single();
        assertThat(actor)
                .isEqualTo("operator token " + Actors.fingerprint(OPERATOR))
                .doesNotContain(OPERATOR);
    }

    @Test
    void a_bulk_action_is_bounded_needs_an_operator_and_says_what_is_wrong() throws Exception {
        var many = new ArrayList<String>();
        for (int i = 1; i <= BulkActions.MAX_JOBS + 1; i++) {
            many.add(Integer.toString(i));
        }
        var tooMany = bulk("{\"action\":\"retry\",\"ids\":[" + String.join(",", many) + "]}", OPERATOR);
        assertThat(tooMany.status()).isEqualTo(400);
        assertThat(tooMany.body().get("error").asString()).contains("at most 1000");

        var marker = "bulk-bound-" + System.nanoTime();
        jdbc().sql("""
                        INSERT INTO jobs (kind, status, last_error, finished_at)
                        SELECT 'noop', 'FAILED', :error, now() FROM generate_series(1, 1001)""").param("error", "exit code 1: " + marker).update();
        var wide = bulk("{\"action\":\"retry\",\"filter\":{\"q\":\"" + marker + "\"}}", OPERATOR);
        assertThat(wide.status()).isEqualTo(400);
        assertThat(wide.body().get("error").asString())
                .contains("more than 1000")
                .contains("narrow the filter");

        assertThat(bulk("{\"action\":\"delete\",\"ids\":[1]}", OPERATOR)
                        .body()
                        .get("error")
                        .asString())
                .contains("'action' must be \"retry\" or \"cancel\"")
                .contains("delete");
        assertThat(bulk("{\"action\":\"retry\"}", OPERATOR).body().get("error").asString())
                .contains("either 'ids'");
        var viewer = bulk("{\"action\":\"retry\",\"ids\":[1]}", VIEWER);
        assertThat(viewer.status()).isEqualTo(403);
    }
}
