package io.bisectbot.github;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import io.bisectbot.TestDatabase;
import io.bisectbot.crypto.Encryption;
import io.bisectbot.crypto.KeysCommand;
import io.bisectbot.queue.JobStatus;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;

/** keys rotate from key A to key B while an instance keeps writing. */
class KeyRotationTest {

    private static final String KEY_A = EncryptionAtRestTest.KEY_A;
    private static final String KEY_B = EncryptionAtRestTest.KEY_B;
    private static final String SECRET = "npm_sEcReT0123456789abcdefghijklmnopqrstu";

    private final HikariDataSource db = TestDatabase.migrated();
    private final JdbcClient sql = JdbcClient.create(db);

    @AfterEach
    void close() {
        db.close();
    }

    private static void awaitFinished(EncryptedStore store, List<Long> jobs) {
        await().atMost(Duration.ofSeconds(60))
                .until(() -> jobs.stream()
                        .allMatch(
                                id -> store.node.queue().find(id).orElseThrow().status() == JobStatus.SUCCEEDED));
    }

    @Test
    void rotation_while_an_instance_keeps_writing_leaves_every_value_readable_with_the_new_key_alone()
            throws Exception {
        var jobs = new CopyOnWriteArrayList<Long>();
        var deliveries = new CopyOnWriteArrayList<String>();
        // Rows from before encryption was turned on, and rows sealed with key A.
        try (var legacy = new EncryptedStore(db, Encryption.none(), "legacy", SECRET).start()) {
            var written = new ArrayList<Long>();
            for (int i = 0; i < 15; i++) {
                written.add(legacy.writeAll("legacy-" + i, SECRET));
                deliveries.add("legacy-" + i);
            }
            awaitFinished(legacy, written);
            jobs.addAll(written);
        }
        try (var a = new EncryptedStore(db, Encryption.fromKeys(KEY_A), "a", SECRET).start()) {
            var written = new ArrayList<Long>();
            for (int i = 0; i < 40; i++) {
                written.add(a.writeAll("a-" + i, SECRET));
                deliveries.add("a-" + i);
            }
            awaitFinished(a, written);
            jobs.addAll(written);
        }

        // The instance restarted with B first and A after it keeps writing (and completing jobs) during the rotation.
        var rotating = Encryption.fromKeys(KEY_B + "," + KEY_A);
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        try (var writer = new EncryptedStore(db, rotating, "b", SECRET).start()) {
            var stop = new AtomicBoolean();
            var writing = Thread.ofPlatform().start(() -> {
                for (int i = 0; !stop.get(); i++) {
                    jobs.add(writer.writeAll("b-" + i, SECRET));
                    deliveries.add("b-" + i);
                }
            });
            int status = KeysCommand.rotate(
                    db,
                    rotating,
                    7,
                    new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
            stop.set(true);
            writing.join();
            assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
            awaitFinished(writer, jobs);
        }
        assertThat(deliveries.stream().filter(d -> d.startsWith("b-")).count()).isPositive();
        assertThat(out.toString(StandardCharsets.UTF_8))
                .contains("step_logs.content: ")
                .contains("re-encrypted with key 'b'")
                .contains("Done: ");

        // Nothing is left under A or in the clear.
        for (var column : List.of(
                "content FROM step_logs",
                "payload::text FROM jobs",
                "result::text FROM jobs WHERE result IS NOT NULL",
                "request::text FROM github_outbox")) {
            assertThat(sql.sql("SELECT " + column).query(String.class).list()).allSatisfy(value -> {
                assertThat(value)
                        .doesNotContain(SECRET)
                        .doesNotContain("bb1:a:")
                        .contains("bb1:b:");
            });
        }
        assertThat(sql.sql("SELECT count(*) FROM github_deliveries WHERE payload IS NOT NULL")
                        .query(Long.class)
                        .single())
                .isZero();

        // Every value reads with key B alone.
        try (var onlyB = new EncryptedStore(db, Encryption.fromKeys(KEY_B), "reader", SECRET)) {
            for (var id : deliveries) {
                assertThat(onlyB.deliveries
                                .find(id)
                                .orElseThrow()
                                .payload()
                                .path("comment")
                                .path("body")
                                .asString())
                        .contains(SECRET);
            }
            for (var id : jobs) {
                var job = onlyB.node.queue().find(id).orElseThrow();
                assertThat(job.payload().path("command").asString()).contains(SECRET);
                assertThat(job.result().path("output").asString()).contains(SECRET);
                assertThat(onlyB.logs.readAll(id, "run")).contains(SECRET);
            }
            var rows = onlyB.outbox.claim("reader", 100_000, Duration.ofMinutes(1));
            assertThat(rows)
                    .hasSize(deliveries.size())
                    .allSatisfy(row ->
                            assertThat(row.request().path("body").asString()).contains(SECRET));
        }
    }
}
