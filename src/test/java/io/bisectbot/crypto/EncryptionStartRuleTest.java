package io.bisectbot.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.bisectbot.BisectbotApplication;
import io.bisectbot.TestDatabase;
import io.bisectbot.config.DatabaseProperties;
import io.bisectbot.config.StartupProblem;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

@ExtendWith(OutputCaptureExtension.class)
class EncryptionStartRuleTest {

    private static final String KEY = TestDatabase.ENCRYPTION_KEYS;

    private static DatabaseProperties database(String url) {
        return new DatabaseProperties(url, null, null, 10, null, Path.of("data/pg"), 0);
    }

    @Test
    void production_without_a_key_refuses_to_start_with_a_plain_problem_and_what_to_do(CapturedOutput output) {
        var url = TestDatabase.createDatabase();
        var app = new SpringApplication(BisectbotApplication.class);
        app.setWebApplicationType(WebApplicationType.NONE);
        assertThatThrownBy(() -> app.run(
                        "--bisectbot.database.url=" + url,
                        "--bisectbot.database.username="
                                + TestDatabase.container().getUsername(),
                        "--bisectbot.database.password="
                                + TestDatabase.container().getPassword(),
                        "--bisectbot.database.migrate-on-start=true",
                        "--logging.structured.format.console=ecs"))
                .isInstanceOf(RuntimeException.class);
        assertThat(output.getErr())
                .contains("Problem: DATABASE_URL is set (production) and no encryption key is configured")
                .contains("keys generate")
                .contains("ENCRYPTION_REQUIRED=false");
    }

    @Test
    void the_explicit_override_and_the_embedded_database_start_without_a_key_and_say_so_once(CapturedOutput output) {
        var config = new EncryptionConfig();
        assertThat(config.encryption(
                                new EncryptionProperties(null, null, false),
                                database("jdbc:postgresql://db/x"),
                                "serve")
                        .enabled())
                .isFalse();
        assertThat(config.encryption(new EncryptionProperties("", "", null), database(""), "serve")
                        .enabled())
                .isFalse();
        assertThat(output.getOut().lines().filter(l -> l.contains("Data is not encrypted at rest")))
                .hasSize(2);
        // Migrating needs no key.
        assertThat(config.encryption(
                                new EncryptionProperties(null, null, null),
                                database("jdbc:postgresql://db/x"),
                                "migrate")
                        .enabled())
                .isFalse();
        assertThatThrownBy(() -> config.encryption(new EncryptionProperties(null, null, true), database(""), "serve"))
                .isInstanceOf(StartupProblem.class)
                .hasMessageContaining("ENCRYPTION_REQUIRED is true");
    }

    @Test
    void keys_come_from_the_variable_or_a_file_and_a_bad_entry_is_a_startup_problem(@TempDir Path dir)
            throws Exception {
        var config = new EncryptionConfig();
        var file = dir.resolve("keys");
        Files.writeString(file, "# newest first\n" + KEY + "\nold:" + KEY.substring(KEY.indexOf(':') + 1) + "\n");
        var fromFile = config.encryption(
                new EncryptionProperties(null, file.toString(), null), database("jdbc:postgresql://db/x"), "serve");
        assertThat(fromFile.keyIds()).containsExactly("test", "old");
        assertThat(fromFile.currentKeyId()).isEqualTo("test");
        assertThatThrownBy(() ->
                        config.encryption(new EncryptionProperties(KEY, file.toString(), null), database(""), "serve"))
                .isInstanceOf(StartupProblem.class)
                .hasMessageContaining("Both ENCRYPTION_KEYS and ENCRYPTION_KEYS_FILE");
        assertThatThrownBy(() ->
                        config.encryption(new EncryptionProperties("k:c2hvcnQ=", null, null), database(""), "serve"))
                .isInstanceOf(StartupProblem.class)
                .hasMessageContaining("key id 'k'")
                .hasMessageNotContaining("c2hvcnQ=");
    }

    @Test
    void keys_generate_prints_a_line_that_configures_a_key_and_usage_errors_exit_2() {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        var status = KeysCommand.handleWithoutDatabase(
                new String[] {"generate", "--id", "k2"},
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).isZero();
        var line = out.toString(StandardCharsets.UTF_8).strip();
        assertThat(Encryption.fromKeys(line).currentKeyId()).isEqualTo("k2");
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("keys rotate");

        var generated = new ByteArrayOutputStream();
        KeysCommand.handleWithoutDatabase(
                new String[] {"generate"},
                new PrintStream(generated, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertThat(Encryption.fromKeys(
                                generated.toString(StandardCharsets.UTF_8).strip())
                        .currentKeyId())
                .matches("k\\d{8}-[0-9a-f]{4}");

        var quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertThat(KeysCommand.handleWithoutDatabase(new String[] {"shred"}, quiet, quiet))
                .isEqualTo(2);
        assertThat(KeysCommand.handleWithoutDatabase(new String[] {"rotate", "--batch", "0"}, quiet, quiet))
                .isEqualTo(2);
        assertThat(KeysCommand.handleWithoutDatabase(new String[] {"rotate", "--batch", "10"}, quiet, quiet))
                .isNull();
        assertThat(KeysCommand.rotate(TestDatabase.migrated(), Encryption.none(), 10, quiet, quiet))
                .isEqualTo(1);
    }
}
