package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;

import io.bisectbot.executor.LogSink;
import io.bisectbot.executor.LogStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LastNumberTest {

    private final List<String> passed = new ArrayList<>();
    private final LastNumber number = new LastNumber(new LogSink() {
        @Override
        public void append(LogStream stream, String text) {
            passed.add(text);
        }
    });

    @Test
    void the_last_number_on_standard_output_is_the_metric_and_standard_error_is_ignored() {
        number.append(LogStream.STDOUT, "warming up 3 times\nrequests/s: 1234.5\n");
        number.append(LogStream.STDERR, "took 99 ms\n");
        assertThat(number.value()).isEqualTo(1234.5);
        assertThat(passed).containsExactly("warming up 3 times\nrequests/s: 1234.5\n", "took 99 ms\n");
    }

    @Test
    void a_number_split_between_chunks_is_read_whole() {
        number.append(LogStream.STDOUT, "time: 12");
        number.append(LogStream.STDOUT, ".75e");
        number.append(LogStream.STDOUT, "-3");
        assertThat(number.value()).isEqualTo(12.75e-3);
    }

    @Test
    void signs_points_and_exponents_are_part_of_the_number() {
        number.append(LogStream.STDOUT, "delta -3.5 then .25 then +2E2 done\n");
        assertThat(number.value()).isEqualTo(200.0);
    }

    @Test
    void output_without_a_number_has_no_metric() {
        number.append(LogStream.STDOUT, "all good\n");
        assertThat(number.value()).isNull();
    }
}
