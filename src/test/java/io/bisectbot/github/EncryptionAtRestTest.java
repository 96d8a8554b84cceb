package io.bisectbot.github;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import io.bisectbot.TestDatabase;
import io.bisectbot.crypto.Encryption;
import io.bisectbot.crypto.EncryptionException;
import io.bisectbot.queue.JobStatus;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;

/** Sealed columns read raw with SQL, and read back through the code, against a real PostgreSQL. */
class EncryptionAtRestTest {

    static final String KEY_A = "a:" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVoxMjM0NTY=";
    static final String KEY_B = "b:" + "YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI=";
    private static final String SECRET = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";

    private HikariDataSource db;
    private JdbcClient sql;
    private final List<EncryptedStore> stores = new ArrayList<>();

    @BeforeEach
    void database() {
        db = TestDatabase.migrated();
        sql = JdbcClient.create(db);
    }

    @AfterEach
    void close() {
        stores.forEach(EncryptedStore::close);
        db.close();
    }

    private EncryptedStore store(Encryption encryption, String worker) {
        var store = new EncryptedStore(db, encryption, worker, SECRET).start();
        stores.add(store);
        return store;
    }

    private void awaitSucceeded(EncryptedStore store, long job) {
        await().atMost(Duration.ofSeconds(20))
                .until(() -> store.node.queue().find(job).orElseThrow().status() == JobStatus.SUCCEEDED);
    }

    /** Every stored value of every sealed column, as the database holds it. */
    private List<String> raw() {
        var rows = new ArrayList<String>();
        rows.addAll(sql.sql("SELECT coalesce(payload::text, '') FROM github_deliveries")
                .query(String.class)
                .list());
        rows.addAll(sql.sql("SELECT payload_sealed FROM github_deliveries WHERE payload_sealed IS NOT NULL")
                .query((rs, n) -> new String(rs.getBytes(1), StandardCharsets.ISO_8859_1))
                .list());
        rows.addAll(sql.sql("SELECT content FROM step_logs").query(String.class).list());
        rows.addAll(
                sql.sql("SELECT payload::text FROM jobs").query(String.class).list());
        rows.addAll(sql.sql("SELECT result::text FROM jobs WHERE result IS NOT NULL")
                .query(String.class)
                .list());
        rows.addAll(sql.sql("SELECT request::text FROM github_outbox")
                .query(String.class)
                .list());
        return rows;
    }

    @Test
    void a_secret_in_a_delivery_a_step_log_a_job_and_an_outbox_body_is_absent_from_the_stored_bytes() {
        var store = store(Encryption.fromKeys(KEY_A), "sealing");
        var job = store.writeAll("d-1", SECRET);
        awaitSucceeded(store, job);

        assertThat(sql.sql("SELECT count(*) FROM step_logs").query(Long.class).single())
                .isPositive();
        assertThat(raw())
                .hasSizeGreaterThanOrEqualTo(7)
                .allSatisfy(value -> assertThat(value).doesNotContain(SECRET));
        assertThat(sql.sql("SELECT content FROM step_logs").query(String.class).list())
                .allSatisfy(v -> assertThat(v).startsWith("bb1:a:"));
        assertThat(sql.sql(
                                "SELECT count(*) FROM github_deliveries WHERE payload IS NULL AND payload_sealed IS NOT NULL")
                        .query(Long.class)
                        .single())
                .isEqualTo(1);
        // Searches keep working on the plain keys; the rest is sealed.
        assertThat(sql.sql(
                                "SELECT id FROM jobs WHERE kind = :kind AND payload ->> 'owner' = 'acme' AND payload ->> 'task' = 'deploy'")
                        .param("kind", EncryptedStore.KIND)
                        .query(Long.class)
                        .list())
                .containsExactly(job);
        assertThat(sql.sql("SELECT jsonb_exists(payload, 'command') FROM jobs WHERE id = :id")
                        .param("id", job)
                        .query(Boolean.class)
                        .single())
                .isFalse();

        // Read through the code, everything is as it was written.
        assertThat(store.deliveries
                        .find("d-1")
                        .orElseThrow()
                        .payload()
                        .path("comment")
                        .path("body")
                        .asString())
                .contains(SECRET);
        assertThat(store.logs.readAll(job, "run")).isEqualTo("using token " + SECRET + "\n");
        var stored = store.node.queue().find(job).orElseThrow();
        assertThat(stored.payload().path("command").asString()).contains(SECRET);
        assertThat(stored.result().path("output").asString()).contains(SECRET);
        assertThat(store.outbox.claim("reader", 10, Duration.ofMinutes(1)))
                .anySatisfy(
                        row -> assertThat(row.request().path("body").asString()).contains(SECRET));
    }

    @Test
    void rows_written_before_encryption_was_turned_on_stay_readable_after() {
        var plain = store(Encryption.none(), "before");
        var job = plain.writeAll("legacy-1", SECRET);
        awaitSucceeded(plain, job);
        assertThat(raw()).anySatisfy(value -> assertThat(value).contains(SECRET));
        plain.close();
        stores.remove(plain);

        var sealing = store(Encryption.fromKeys(KEY_A), "after");
        assertThat(sealing.deliveries
                        .find("legacy-1")
                        .orElseThrow()
                        .payload()
                        .path("comment")
                        .path("body")
                        .asString())
                .contains(SECRET);
        assertThat(sealing.logs.readAll(job, "run")).contains(SECRET);
        assertThat(sealing.node
                        .queue()
                        .find(job)
                        .orElseThrow()
                        .result()
                        .path("output")
                        .asString())
                .contains(SECRET);
        assertThat(sealing.outbox.claim("reader", 10, Duration.ofMinutes(1)))
                .anySatisfy(
                        row -> assertThat(row.request().path("body").asString()).contains(SECRET));
        // New rows beside them are sealed.
        var next = sealing.writeAll("new-1", SECRET);
        awaitSucceeded(sealing, next);
        assertThat(sql.sql("SELECT content FROM step_logs WHERE job_id = :id")
                        .param("id", next)
                        .query(String.class)
                        .list())
                .allSatisfy(v -> assertThat(v).startsWith("bb1:a:"));
    }

    @Test
    void a_wrong_or_missing_key_fails_naming_the_key_id_and_never_the_key() {
        var store = store(Encryption.fromKeys(KEY_A), "sealing");
        var job = store.writeAll("d-2", SECRET);
        awaitSucceeded(store, job);

        var otherKey = new Deliveries(db, EncryptedStore.JSON, java.time.Clock.systemUTC(), Encryption.fromKeys(KEY_B));
        assertThatThrownBy(() -> otherKey.find("d-2"))
                .isInstanceOf(EncryptionException.class)
                .hasMessageContaining("github_deliveries.payload")
                .hasMessageContaining("key 'a'")
                .hasMessageContaining("[b]")
                .hasMessageNotContaining(KEY_A.substring(2))
                .hasMessageNotContaining(KEY_B.substring(2));
        var noKey = new io.bisectbot.executor.StepLogRepository(sql, java.time.Clock.systemUTC(), Encryption.none());
        try (noKey) {
            assertThatThrownBy(() -> noKey.readAll(job, "run"))
                    .isInstanceOf(EncryptionException.class)
                    .hasMessageContaining("step_logs.content")
                    .hasMessageContaining("key 'a'")
                    .hasMessageContaining("no ENCRYPTION_KEYS are configured");
        }
        var wrongKeyUnderA = Encryption.fromKeys("a:" + KEY_B.substring(2));
        var wrong = new Outbox(db, EncryptedStore.JSON, java.time.Clock.systemUTC(), wrongKeyUnderA);
        assertThatThrownBy(() -> wrong.claim("reader", 10, Duration.ofMinutes(1)))
                .isInstanceOf(EncryptionException.class)
                .hasMessageContaining("github_outbox.request")
                .hasMessageContaining("key 'a'")
                .hasMessageContaining("not the one it was written with");
    }
}
