package io.bisectbot.executor;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class LogPipelineTest {

    private final DockerTestSupport.RecordingSink sink = new DockerTestSupport.RecordingSink();

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void output_under_the_cap_is_kept_whole_and_in_order() {
        var pipeline = new LogPipeline(sink, 1000, List.of());
        pipeline.accept(LogStream.STDOUT, utf8("hello "));
        pipeline.accept(LogStream.STDERR, utf8("oops\n"));
        pipeline.accept(LogStream.STDOUT, utf8("world\n"));

        LogSummary summary = pipeline.finish();

        assertThat(sink.text()).isEqualTo("hello oops\nworld\n");
        assertThat(sink.text(LogStream.STDERR)).isEqualTo("oops\n");
        assertThat(summary).isEqualTo(new LogSummary(17, 17, 0));
    }

    @Test
    void output_over_the_cap_keeps_head_and_tail_around_a_marker_with_the_omitted_count() {
        var pipeline = new LogPipeline(sink, 100, List.of());
        var all = new StringBuilder();
        for (int i = 0; i < 1000; i++) {
            String line = i + "\n";
            all.append(line);
            pipeline.accept(LogStream.STDOUT, utf8(line));
        }

        LogSummary summary = pipeline.finish();

        String stored = sink.text();
        assertThat(stored).startsWith(all.substring(0, 50));
        assertThat(stored).endsWith(all.substring(all.length() - 50));
        long omitted = all.length() - 100;
        assertThat(stored).contains("… " + omitted + " bytes omitted …");
        assertThat(summary).isEqualTo(new LogSummary(all.length(), 100, omitted));
    }

    @Test
    void a_secret_split_across_frames_is_masked() {
        var pipeline = new LogPipeline(sink, 10_000, List.of("hunter2", "s3cr3t-t0ken"));
        pipeline.accept(LogStream.STDOUT, utf8("token=s3cr"));
        pipeline.accept(LogStream.STDOUT, utf8("3t-t"));
        pipeline.accept(LogStream.STDOUT, utf8("0ken pw=hunt"));
        pipeline.accept(LogStream.STDOUT, utf8("er2 end hun"));

        pipeline.finish();

        assertThat(sink.text()).isEqualTo("token=*** pw=*** end hun");
    }

    @Test
    void a_secret_printed_encoded_is_masked_in_every_common_encoding() {
        var secret = "npm_Zq8vR2xLk4Tw9YbN3mPc7HdJ";
        var bytes = utf8(secret);
        var b64 = java.util.Base64.getEncoder();
        var printed = List.of(
                b64.encodeToString(utf8(secret + "\n")), // echo $S | base64
                b64.encodeToString(utf8("TOKEN=" + secret)), // at another byte offset
                b64.encodeToString(utf8("T=" + secret)),
                java.util.Base64.getUrlEncoder().encodeToString(bytes),
                java.util.HexFormat.of().formatHex(bytes), // xxd -p, od
                java.util.HexFormat.of().formatHex(bytes).toUpperCase(),
                new StringBuilder(secret).reverse().toString(), // rev
                java.net.URLEncoder.encode("a/b?" + secret + "&", StandardCharsets.UTF_8));
        var pipeline = new LogPipeline(sink, 100_000, List.of(secret));
        for (var line : printed) {
            // Split in the middle of each line, as frames split output.
            pipeline.accept(LogStream.STDOUT, utf8(line.substring(0, line.length() / 2)));
            pipeline.accept(LogStream.STDOUT, utf8(line.substring(line.length() / 2) + "\n"));
        }
        pipeline.finish();

        var stored = sink.text();
        assertThat(stored.lines()).hasSize(printed.size()).allMatch(line -> line.contains("***"));
        for (var form : List.of(
                secret,
                b64.encodeToString(bytes).substring(0, 36),
                java.util.HexFormat.of().formatHex(bytes))) {
            assertThat(stored).doesNotContain(form);
        }
        // Nothing long enough to reconstruct the secret survives beside the masks.
        assertThat(stored.replace("***", "\n").lines()).allMatch(rest -> rest.length() <= 12);
    }

    @Test
    void a_long_secret_base64_wrapped_over_lines_is_masked() {
        var secret = "-----BEGIN KEY-----" + "A1b2C3d4E5f6G7h8I9j0".repeat(6);
        var wrapped = java.util.Base64.getMimeEncoder(76, utf8("\n")).encodeToString(utf8(secret));
        var pipeline = new LogPipeline(sink, 100_000, List.of(secret));
        pipeline.accept(LogStream.STDOUT, utf8(wrapped + "\n"));
        pipeline.finish();
        assertThat(sink.text())
                .doesNotContain(wrapped.lines().findFirst().orElseThrow())
                .contains("***");
    }

    @Test
    void a_multibyte_character_split_across_frames_is_decoded_once() {
        var pipeline = new LogPipeline(sink, 10_000, List.of());
        byte[] euro = utf8("€");
        pipeline.accept(LogStream.STDOUT, new byte[] {'a', euro[0]});
        pipeline.accept(LogStream.STDOUT, new byte[] {euro[1], euro[2], 'b', 0});

        pipeline.finish();

        assertThat(sink.text()).isEqualTo("a€b\uFFFD");
    }

    @Test
    void the_cap_never_splits_a_multibyte_character() {
        var pipeline = new LogPipeline(sink, 11, List.of());
        pipeline.accept(LogStream.STDOUT, utf8("ééééééééééééé"));

        LogSummary summary = pipeline.finish();

        assertThat(sink.text()).doesNotContain("\uFFFD").startsWith("éé").endsWith("ééé");
        assertThat(summary.totalBytes()).isEqualTo(26);
        assertThat(summary.storedBytes() + summary.omittedBytes()).isEqualTo(26);
    }
}
