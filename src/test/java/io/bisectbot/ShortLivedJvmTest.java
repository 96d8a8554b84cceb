package io.bisectbot;

import static org.assertj.core.api.Assertions.assertThat;

import io.bisectbot.ShortLivedJvm.Launch;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ShortLivedJvmTest {

    private static final String[] ARGS = {"bisect", "--good", "v1", "--", "sh", "-c", "test -f ok"};

    @Test
    void the_child_runs_the_extracted_copy_with_the_client_compiler_and_a_class_data_archive() {
        var launch = Launch.of(
                        Optional.of("/opt/jdk/bin/java"),
                        Optional.of(jvm("-Xmx512m", "-Duser.home=/h", "-jar", "/x/bisectbot.jar")),
                        ARGS)
                .orElseThrow();

        assertThat(launch.childCommand(Optional.of(Path.of("/h/.bisectbot/app/ab12"))))
                .isEqualTo(List.of(
                        "/opt/jdk/bin/java",
                        "-Xmx512m",
                        "-Duser.home=/h",
                        "-XX:TieredStopAtLevel=1",
                        "-XX:+AutoCreateSharedArchive",
                        "-XX:SharedArchiveFile=/h/.bisectbot/app/ab12/classes.jsa",
                        "-Xlog:cds*=off",
                        "-Dbisectbot.relaunched=" + ProcessHandle.current().pid(),
                        "-jar",
                        "/h/.bisectbot/app/ab12/bisectbot.jar",
                        "bisect",
                        "--good",
                        "v1",
                        "--",
                        "sh",
                        "-c",
                        "test -f ok"));
    }

    @Test
    void without_a_copy_the_child_runs_the_same_jar_with_the_client_compiler() {
        var launch = Launch.of(Optional.of("java"), Optional.of(jvm("-jar", "target/bisectbot.jar")), ARGS)
                .orElseThrow();

        assertThat(launch.childCommand(Optional.empty()))
                .isEqualTo(List.of(
                        "java",
                        "-XX:TieredStopAtLevel=1",
                        "-Dbisectbot.relaunched=" + ProcessHandle.current().pid(),
                        "-jar",
                        "target/bisectbot.jar",
                        "bisect",
                        "--good",
                        "v1",
                        "--",
                        "sh",
                        "-c",
                        "test -f ok"));
    }

    @Test
    void it_runs_in_this_jvm_when_not_started_from_a_jar() {
        assertThat(Launch.of(
                        Optional.of("java"),
                        Optional.of(jvm("-cp", "target/classes", "io.bisectbot.BisectbotApplication")),
                        ARGS))
                .isEmpty();
    }

    @Test
    void it_runs_in_this_jvm_when_the_known_command_line_does_not_end_with_the_arguments() {
        // A truncated or otherwise different command line cannot be repeated faithfully.
        assertThat(Launch.of(
                        Optional.of("java"), Optional.of(new String[] {"-jar", "b.jar", "bisect", "--good"}), ARGS))
                .isEmpty();
        assertThat(Launch.of(Optional.of("java"), Optional.empty(), ARGS)).isEmpty();
        assertThat(Launch.of(Optional.empty(), Optional.of(jvm("-jar", "b.jar")), ARGS))
                .isEmpty();
    }

    @Test
    void a_compiler_or_class_data_setting_of_the_user_is_left_alone() {
        for (var option :
                List.of("-XX:TieredStopAtLevel=4", "-XX:-TieredCompilation", "-XX:SharedArchiveFile=/a.jsa")) {
            assertThat(Launch.of(Optional.of("java"), Optional.of(jvm(option, "-jar", "b.jar")), ARGS))
                    .as(option)
                    .isEmpty();
        }
    }

    private static String[] jvm(String... before) {
        var all = new String[before.length + ARGS.length];
        System.arraycopy(before, 0, all, 0, before.length);
        System.arraycopy(ARGS, 0, all, before.length, ARGS.length);
        return all;
    }
}
