package io.bisectbot.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

class EncryptionTest {

    private static final String KEY_A = KeyRing.generate("a", new SecureRandom());
    private static final String KEY_B = KeyRing.generate("b", new SecureRandom());
    private static final String SECRET = "ghp_0123456789abcdefSECRET";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Encryption a = Encryption.fromKeys(KEY_A);

    @Test
    void a_text_value_round_trips_and_its_stored_form_names_the_key_but_not_the_value() {
        var stored = a.sealText(Column.STEP_LOG, "token=" + SECRET + "\n");
        assertThat(stored).startsWith("bb1:a:").doesNotContain(SECRET);
        assertThat(a.openText(Column.STEP_LOG, stored)).isEqualTo("token=" + SECRET + "\n");
    }

    @Test
    void every_value_gets_its_own_nonce() {
        assertThat(a.sealText(Column.STEP_LOG, "same")).isNotEqualTo(a.sealText(Column.STEP_LOG, "same"));
    }

    @Test
    void a_byte_value_is_deflated_then_encrypted_and_round_trips() {
        var payload = ("{\"secret\":\"" + SECRET + "\",\"pad\":\"" + "x".repeat(20_000) + "\"}")
                .getBytes(StandardCharsets.UTF_8);
        var stored = a.sealBytes(Column.DELIVERY_PAYLOAD, payload);
        assertThat(stored.length).isLessThan(payload.length / 10);
        assertThat(new String(stored, StandardCharsets.ISO_8859_1)).doesNotContain(SECRET);
        assertThat(a.openBytes(Column.DELIVERY_PAYLOAD, stored)).isEqualTo(payload);
    }

    @Test
    void a_tampered_value_fails_naming_the_key_id() {
        var stored = a.sealText(Column.STEP_LOG, SECRET);
        var body = Base64.getDecoder().decode(stored.substring("bb1:a:".length()));
        body[body.length - 20] ^= 1;
        var tampered = "bb1:a:" + Base64.getEncoder().encodeToString(body);
        assertThatThrownBy(() -> a.openText(Column.STEP_LOG, tampered))
                .isInstanceOf(EncryptionException.class)
                .hasMessageContaining("step_logs.content")
                .hasMessageContaining("key 'a'")
                .hasMessageContaining("altered");

        var bytes = a.sealBytes(Column.DELIVERY_PAYLOAD, SECRET.getBytes(StandardCharsets.UTF_8));
        bytes[bytes.length - 1] ^= 1;
        assertThatThrownBy(() -> a.openBytes(Column.DELIVERY_PAYLOAD, bytes))
                .isInstanceOf(EncryptionException.class)
                .hasMessageContaining("key 'a'");
    }

    @Test
    void a_value_moved_to_another_column_does_not_decrypt() {
        var result = a.sealText(Column.JOB_RESULT, SECRET);
        assertThatThrownBy(() -> a.openText(Column.JOB_PAYLOAD, result))
                .isInstanceOf(EncryptionException.class)
                .hasMessageContaining("jobs.payload")
                .hasMessageContaining("another column");
    }

    @Test
    void a_key_id_changed_in_the_value_does_not_decrypt_even_with_the_same_key_under_that_id() {
        var raw = KEY_A.substring(KEY_A.indexOf(':') + 1);
        var both = Encryption.fromKeys(KEY_A + ",c:" + raw);
        var stored = both.sealText(Column.STEP_LOG, SECRET);
        assertThatThrownBy(() -> both.openText(Column.STEP_LOG, "bb1:c:" + stored.substring("bb1:a:".length())))
                .isInstanceOf(EncryptionException.class)
                .hasMessageContaining("key 'c'");
    }

    @Test
    void an_unknown_key_id_and_a_wrong_key_fail_clearly_and_never_show_a_key() {
        var stored = a.sealText(Column.STEP_LOG, SECRET);
        assertThatThrownBy(() -> Encryption.fromKeys(KEY_B).openText(Column.STEP_LOG, stored))
                .isInstanceOf(EncryptionException.class)
                .hasMessageContaining("key 'a'")
                .hasMessageContaining("not among the configured keys [b]")
                .hasMessageNotContaining(KEY_A.substring(2))
                .hasMessageNotContaining(KEY_B.substring(2));
        assertThatThrownBy(() -> Encryption.none().openText(Column.STEP_LOG, stored))
                .isInstanceOf(EncryptionException.class)
                .hasMessageContaining("no ENCRYPTION_KEYS are configured");
        var wrongUnderA = Encryption.fromKeys("a:" + KEY_B.substring(2));
        assertThatThrownBy(() -> wrongUnderA.openText(Column.STEP_LOG, stored))
                .isInstanceOf(EncryptionException.class)
                .hasMessageContaining("key 'a'")
                .hasMessageContaining("not the one it was written with")
                .hasMessageNotContaining(KEY_B.substring(2));
    }

    @Test
    void the_first_key_encrypts_and_every_key_decrypts() {
        var old = a.sealText(Column.STEP_LOG, "old");
        var rotated = Encryption.fromKeys(KEY_B + "\n" + KEY_A);
        assertThat(rotated.openText(Column.STEP_LOG, old)).isEqualTo("old");
        assertThat(rotated.sealText(Column.STEP_LOG, "new")).startsWith("bb1:b:");
        assertThat(rotated.currentKeyId()).isEqualTo("b");
    }

    @Test
    void values_stored_before_encryption_are_read_as_they_are() {
        assertThat(a.openText(Column.STEP_LOG, "plain log line\n")).isEqualTo("plain log line\n");
        var legacy = JSON.readTree("{\"repo\":\"https://example.com/x.git\",\"n\":1}");
        assertThat(a.openJson(Column.JOB_PAYLOAD, legacy)).isEqualTo(legacy);
    }

    @Test
    void without_keys_a_plain_value_that_looks_sealed_is_escaped_and_read_back_unchanged() {
        var none = Encryption.none();
        assertThat(none.sealText(Column.STEP_LOG, "plain")).isEqualTo("plain");
        var tricky = "bb1:a:not really";
        var stored = none.sealText(Column.STEP_LOG, tricky);
        assertThat(stored).isEqualTo("bb0:" + tricky);
        assertThat(none.openText(Column.STEP_LOG, stored)).isEqualTo(tricky);
        assertThat(a.openText(Column.STEP_LOG, stored)).isEqualTo(tricky);

        var json = JSON.readTree("{\"$sealed\":\"bb1:a:xyz\"}");
        var storedJson = none.sealJson(Column.JOB_RESULT, json);
        assertThat(none.openJson(Column.JOB_RESULT, storedJson)).isEqualTo(json);
    }

    @Test
    void a_sealed_job_payload_keeps_its_search_keys_in_the_clear_and_nothing_else() {
        var payload = JSON.readTree("""
                {"task":"lint","owner":"acme","repo":"app","pull_request":7,"trigger":"pull_request",
                 "head_sha":"0123456789012345678901234567890123456789","task_config":{"run":"echo %s"},
                 "bad":"fedcba9876543210fedcba9876543210fedcba98","good":["v1.0-good-end"],
                 "github":{"owner":"acme","repo":"app","issue_number":7,"comment_id":5,
                           "head_sha":"abcdefabcdefabcdefabcdefabcdefabcdefabcd"}}""".formatted(SECRET));
        var stored = JSON.readTree(a.sealJson(Column.JOB_PAYLOAD, payload));
        assertThat(stored.toString())
                .doesNotContain(SECRET)
                .doesNotContain("task_config")
                .doesNotContain("comment_id")
                .as("a list is never copied")
                .doesNotContain("v1.0-good-end");
        assertThat(stored.get("owner").asString()).isEqualTo("acme");
        assertThat(stored.get("pull_request").asInt()).isEqualTo(7);
        assertThat(stored.get("github").get("issue_number").asInt()).isEqualTo(7);
        assertThat(stored.get("head_sha").asString()).startsWith("0123");
        assertThat(stored.get("bad").asString())
                .as("the commits the jobs list searches")
                .startsWith("fedc");
        assertThat(stored.get("github").get("head_sha").asString()).startsWith("abcd");
        assertThat(a.openJson(Column.JOB_PAYLOAD, stored)).isEqualTo(payload);
    }

    @Test
    void a_key_entry_that_is_wrong_is_refused_with_its_id_and_never_its_value() {
        var shortKey = Base64.getEncoder().encodeToString(new byte[16]);
        assertThatThrownBy(() -> Encryption.fromKeys("k1:" + shortKey))
                .hasMessageContaining("entry 1 (key id 'k1')")
                .hasMessageContaining("16 bytes")
                .hasMessageContaining("32")
                .hasMessageNotContaining(shortKey);
        assertThatThrownBy(() -> Encryption.fromKeys(KEY_A + "," + KEY_A)).hasMessageContaining("'a' is listed twice");
        assertThatThrownBy(() -> Encryption.fromKeys("no-colon-here"))
                .hasMessageContaining("entry 1 has no key id")
                .hasMessageNotContaining("no-colon-here");
        assertThatThrownBy(() -> Encryption.fromKeys("a:%%%")).hasMessageContaining("not valid base64");
    }

    @Test
    void a_generated_key_line_is_an_id_and_32_random_bytes() {
        var line = KeyRing.generate("k1", new SecureRandom());
        assertThat(line).startsWith("k1:");
        assertThat(Base64.getDecoder().decode(line.substring(3))).hasSize(32);
        assertThat(Encryption.fromKeys("# comment\n" + line + "\n").keyIds()).containsExactly("k1");
    }
}
