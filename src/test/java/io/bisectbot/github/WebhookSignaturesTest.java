package io.bisectbot.github;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class WebhookSignaturesTest {

    private static final byte[] HELLO = "Hello, World!".getBytes(StandardCharsets.UTF_8);
    private static final String EXPECTED = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    @Test
    void matches_githubs_test_vector() {
        assertThat(WebhookSignatures.sign("It's a Secret to Everybody", HELLO)).isEqualTo(EXPECTED);
        var signatures = new WebhookSignatures(List.of("It's a Secret to Everybody"));
        assertThat(signatures.verify(HELLO, EXPECTED)).hasValue(0);
        assertThat(signatures.verify(HELLO, EXPECTED.toUpperCase().replace("SHA256=", "sha256=")))
                .hasValue(0);
    }

    @Test
    void any_configured_secret_verifies_during_a_rotation() {
        var signatures = new WebhookSignatures(List.of("new secret", "It's a Secret to Everybody"));
        assertThat(signatures.verify(HELLO, EXPECTED)).hasValue(1);
        assertThat(signatures.verify(HELLO, WebhookSignatures.sign("new secret", HELLO)))
                .hasValue(0);
    }

    @Test
    void rejects_missing_malformed_and_wrong_signatures() {
        var signatures = new WebhookSignatures(List.of("It's a Secret to Everybody"));
        assertThat(signatures.verify(HELLO, null)).isEmpty();
        assertThat(signatures.verify(HELLO, "")).isEmpty();
        assertThat(signatures.verify(HELLO, EXPECTED.substring(7))).isEmpty();
        assertThat(signatures.verify(HELLO, "sha1=757107ea0eb2509fc211221cce984b8a37570b6d"))
                .isEmpty();
        assertThat(signatures.verify(HELLO, "sha256=" + "zz".repeat(32))).isEmpty();
        assertThat(signatures.verify("Hello, World".getBytes(StandardCharsets.UTF_8), EXPECTED))
                .isEmpty();
        assertThat(new WebhookSignatures(List.of("other")).verify(HELLO, EXPECTED))
                .isEmpty();
        assertThat(new WebhookSignatures(List.of()).configured()).isFalse();
    }
}
