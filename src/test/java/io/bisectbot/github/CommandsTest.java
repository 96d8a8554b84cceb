package io.bisectbot.github;

import static org.assertj.core.api.Assertions.assertThat;

import io.bisectbot.github.Commands.Bisect;
import io.bisectbot.github.Commands.Bot;
import io.bisectbot.github.Commands.Cancel;
import io.bisectbot.github.Commands.Help;
import io.bisectbot.github.Commands.Malformed;
import java.util.List;
import org.junit.jupiter.api.Test;

class CommandsTest {

    @Test
    void a_full_bisect_command() {
        var commands = Commands.parse("/bisect good=v1.2 bad=main k=4 repeat=3 -- make test ARGS='-x -- y'");
        assertThat(commands)
                .containsExactly(new Bisect(
                        0,
                        "/bisect good=v1.2 bad=main k=4 repeat=3 -- make test ARGS='-x -- y'",
                        List.of("v1.2"),
                        "main",
                        4,
                        3,
                        "make test ARGS='-x -- y'"));
    }

    @Test
    void bisect_without_a_command_uses_the_repository_config() {
        var bisect =
                (Bisect) Commands.parse("/bisect bad=HEAD good=abc123,v1.0").getFirst();
        assertThat(bisect.good()).containsExactly("abc123", "v1.0");
        assertThat(bisect.bad()).isEqualTo("HEAD");
        assertThat(bisect.command()).isNull();
        assertThat(bisect.k()).isNull();
        assertThat(bisect.repeat()).isNull();
    }

    @Test
    void commands_only_count_on_their_own_line_outside_code_and_quotes() {
        var body = """
                Thanks! Could you run /bisect good=a bad=b for me?
                > /bisect good=quoted bad=quoted
                  > /cancel
                ```
                /bisect good=fenced bad=fenced
                ```
                ~~~~sh
                /cancel
                ~~~
                still fenced /help
                /help
                ~~~~
                    /help
                /help
                """;
        assertThat(Commands.parse(body)).containsExactly(new Help(13, "/help"));
    }

    @Test
    void several_commands_keep_their_line_numbers() {
        var commands = Commands.parse("/help\r\ntext\r\n  /cancel  \n/bot lint --fix src\n/unknown thing\n/bisection");
        assertThat(commands)
                .containsExactly(
                        new Help(0, "/help"),
                        new Cancel(2, "/cancel"),
                        new Bot(3, "/bot lint --fix src", "lint", "--fix src"));
    }

    @Test
    void malformed_arguments_say_what_is_wrong() {
        assertThat(problem("/bisect")).contains("`good=<ref>` and `bad=<ref>` are required");
        assertThat(problem("/bisect good=a")).contains("required");
        assertThat(problem("/bisect good=a bad=b k=0")).contains("`k` must be a whole number from 1 to 64");
        assertThat(problem("/bisect good=a bad=b k=1000")).contains("from 1 to 64");
        assertThat(problem("/bisect good=a bad=b repeat=x")).contains("`repeat`");
        assertThat(problem("/bisect good=a bad=b speed=9")).contains("unknown option `speed`");
        assertThat(problem("/bisect good=a bad=b oops")).contains("`oops` is not of the form");
        assertThat(problem("/bisect good=a;rm bad=b")).contains("`a;rm` is not a valid git ref");
        assertThat(problem("/bisect good=a bad=b bad=c")).contains("`bad` is given twice");
        assertThat(problem("/bisect good=a bad=b --")).contains("nothing follows `--`");
        assertThat(problem("/cancel now")).contains("takes no arguments");
        assertThat(problem("/help me")).contains("takes no arguments");
        assertThat(problem("/bot")).contains("needs a task name");
        assertThat(problem("/bot $(x)")).contains("needs a task name");
        var malformed = (Malformed) Commands.parse("/bisect good=a").getFirst();
        assertThat(malformed.usage()).isEqualTo(Commands.BISECT_USAGE);
        assertThat(malformed.text()).isEqualTo("/bisect good=a");
    }

    @Test
    void no_commands_and_a_cap_per_comment() {
        assertThat(Commands.parse(null)).isEmpty();
        assertThat(Commands.parse("LGTM")).isEmpty();
        assertThat(Commands.parse("/help\n".repeat(50))).hasSize(Commands.MAX_PER_COMMENT);
    }

    private static String problem(String line) {
        var commands = Commands.parse(line);
        assertThat(commands).hasSize(1);
        assertThat(commands.getFirst()).isInstanceOf(Malformed.class);
        return ((Malformed) commands.getFirst()).problem();
    }
}
