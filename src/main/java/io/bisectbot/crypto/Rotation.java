package io.bisectbot.crypto;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.json.JsonMapper;

/**
 * Re-encrypts every sealed column with the current key, in batches in key order. Safe while instances run: a row is
 * updated only if it still holds the value that was read (else it is read again), so a concurrent write is never
 * lost. Resumable: values already under the current key are only read, so a run that stopped is started again.
 */
final class Rotation {

    private static final int MAX_RETRIES = 10;
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final JdbcClient jdbc;
    private final Encryption encryption;
    private final int batch;
    private final PrintStream out;
    private final String prefix;

    /** What one run did. */
    record Totals(long read, long resealed) {}

    Rotation(DataSource dataSource, Encryption encryption, int batch, PrintStream out) {
        if (!encryption.enabled()) {
            throw new EncryptionException("keys rotate needs ENCRYPTION_KEYS (or ENCRYPTION_KEYS_FILE): the first key "
                    + "is the one every value is re-encrypted with");
        }
        this.jdbc = JdbcClient.create(dataSource);
        this.encryption = encryption;
        this.batch = batch;
        this.out = out;
        this.prefix = "bb1:" + encryption.currentKeyId() + ":";
    }

    Totals run() {
        var jobs = jobs();
        var outbox = outbox();
        var logs = stepLogs();
        var deliveries = deliveries();
        return new Totals(
                jobs.read + outbox.read + logs.read + deliveries.read,
                jobs.resealed + outbox.resealed + logs.resealed + deliveries.resealed);
    }

    private boolean current(String text) {
        return text == null || text.startsWith(prefix);
    }

    private final class Counter {
        final String name;
        long read;
        long resealed;

        Counter(String name) {
            this.name = name;
        }

        void report(Object last) {
            out.printf(
                    "%s: %d values read, %d re-encrypted with key '%s' (up to %s)%n",
                    name, read, resealed, encryption.currentKeyId(), last);
            out.flush();
        }
    }

    private Counter jobs() {
        var counter = new Counter("jobs.payload, jobs.result");
        long last = 0;
        while (true) {
            record Row(long id, String payload, String result) {}
            var rows = jdbc.sql(
                            "SELECT id, payload::text, result::text FROM jobs WHERE id > :last ORDER BY id LIMIT :n")
                    .param("last", last)
                    .param("n", batch)
                    .query((rs, i) -> new Row(rs.getLong(1), rs.getString(2), rs.getString(3)))
                    .list();
            if (rows.isEmpty()) {
                break;
            }
            for (var row : rows) {
                counter.read += 2;
                counter.resealed += resealJson(Column.JOB_PAYLOAD, "jobs", "payload", row.id, row.payload);
                counter.resealed += resealJson(Column.JOB_RESULT, "jobs", "result", row.id, row.result);
                last = row.id;
            }
            counter.report("job " + last);
        }
        return counter;
    }

    private Counter outbox() {
        var counter = new Counter("github_outbox.request");
        long last = 0;
        while (true) {
            record Row(long id, String request) {}
            var rows = jdbc.sql("SELECT id, request::text FROM github_outbox WHERE id > :last ORDER BY id LIMIT :n")
                    .param("last", last)
                    .param("n", batch)
                    .query((rs, i) -> new Row(rs.getLong(1), rs.getString(2)))
                    .list();
            if (rows.isEmpty()) {
                break;
            }
            for (var row : rows) {
                counter.read++;
                counter.resealed += resealJson(Column.OUTBOX_REQUEST, "github_outbox", "request", row.id, row.request);
                last = row.id;
            }
            counter.report("outbox row " + last);
        }
        return counter;
    }

    /** 1 when re-encrypted, 0 when it was current already or the row is gone. */
    private int resealJson(Column column, String table, String name, long id, String value) {
        for (int attempt = 0; attempt < MAX_RETRIES; attempt++) {
            if (value == null || isCurrentJson(value)) {
                return 0;
            }
            var fresh = encryption.sealJson(column, encryption.openJson(column, value));
            int updated = jdbc.sql("UPDATE " + table + " SET " + name + " = CAST(:new AS jsonb) WHERE id = :id AND "
                            + name + " = CAST(:old AS jsonb)")
                    .param("new", fresh)
                    .param("old", value)
                    .param("id", id)
                    .update();
            if (updated == 1) {
                return 1;
            }
            var reread = jdbc.sql("SELECT " + name + "::text FROM " + table + " WHERE id = :id")
                    .param("id", id)
                    .query(String.class)
                    .optional();
            if (reread.isEmpty()) {
                return 0;
            }
            value = reread.get();
        }
        throw new EncryptionException(
                column + " of row " + id + " kept changing while it was re-encrypted; run keys rotate again");
    }

    private boolean isCurrentJson(String stored) {
        var sealed = Encryption.sealedText(JSON.readTree(stored));
        return sealed != null && sealed.startsWith(prefix);
    }

    private Counter stepLogs() {
        var counter = new Counter("step_logs.content");
        long lastJob = 0;
        String lastStep = "";
        int lastSeq = -1;
        while (true) {
            record Row(long jobId, String step, int seq, String content) {}
            var rows = jdbc.sql("""
                            SELECT job_id, step, seq, content FROM step_logs
                             WHERE (job_id, step, seq) > (:job, :step, :seq)
                             ORDER BY job_id, step, seq LIMIT :n""")
                    .param("job", lastJob)
                    .param("step", lastStep)
                    .param("seq", lastSeq)
                    .param("n", batch)
                    .query((rs, i) -> new Row(rs.getLong(1), rs.getString(2), rs.getInt(3), rs.getString(4)))
                    .list();
            if (rows.isEmpty()) {
                break;
            }
            for (var row : rows) {
                counter.read++;
                // Chunks are only ever inserted: a failed compare means the row was deleted (retention).
                if (!current(row.content)) {
                    var fresh = encryption.sealText(Column.STEP_LOG, encryption.openText(Column.STEP_LOG, row.content));
                    counter.resealed += jdbc.sql("""
                                    UPDATE step_logs SET content = :new
                                     WHERE job_id = :job AND step = :step AND seq = :seq AND content = :old""")
                            .param("new", fresh)
                            .param("old", row.content)
                            .param("job", row.jobId)
                            .param("step", row.step)
                            .param("seq", row.seq)
                            .update();
                }
                lastJob = row.jobId;
                lastStep = row.step;
                lastSeq = row.seq;
            }
            counter.report("job " + lastJob + " step " + lastStep + " chunk " + lastSeq);
        }
        return counter;
    }

    private Counter deliveries() {
        var counter = new Counter("github_deliveries.payload");
        var last = "";
        while (true) {
            record Row(String id, String payload, byte[] sealed) {}
            var rows = jdbc.sql("""
                            SELECT delivery_id, payload::text, payload_sealed FROM github_deliveries
                             WHERE delivery_id > :last ORDER BY delivery_id LIMIT :n""")
                    .param("last", last)
                    .param("n", batch)
                    .query((rs, i) -> new Row(rs.getString(1), rs.getString(2), rs.getBytes(3)))
                    .list();
            if (rows.isEmpty()) {
                break;
            }
            for (var row : rows) {
                counter.read++;
                last = row.id;
                // Deliveries are never rewritten: a failed compare means the row was deleted (retention).
                if (row.sealed != null) {
                    if (Encryption.keyIdOfBytes(Column.DELIVERY_PAYLOAD, row.sealed)
                            .equals(encryption.currentKeyId())) {
                        continue;
                    }
                    var fresh = encryption.sealBytes(
                            Column.DELIVERY_PAYLOAD, encryption.openBytes(Column.DELIVERY_PAYLOAD, row.sealed));
                    counter.resealed += jdbc.sql("""
                                    UPDATE github_deliveries SET payload_sealed = :new, payload = NULL
                                     WHERE delivery_id = :id AND payload_sealed = :old""")
                            .param("new", fresh)
                            .param("old", row.sealed)
                            .param("id", row.id)
                            .update();
                } else if (row.payload != null) {
                    var fresh =
                            encryption.sealBytes(Column.DELIVERY_PAYLOAD, row.payload.getBytes(StandardCharsets.UTF_8));
                    counter.resealed += jdbc.sql("""
                                    UPDATE github_deliveries SET payload_sealed = :new, payload = NULL
                                     WHERE delivery_id = :id AND payload_sealed IS NULL AND payload::text = :old""")
                            .param("new", fresh)
                            .param("old", row.payload)
                            .param("id", row.id)
                            .update();
                }
            }
            counter.report("delivery " + last);
        }
        return counter;
    }
}
