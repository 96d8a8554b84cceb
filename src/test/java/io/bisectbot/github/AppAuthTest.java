package io.bisectbot.github;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

class AppAuthTest {

    static final KeyPair KEYS = generate();
    private static final JsonMapper json = JsonMapper.builder().build();

    static KeyPair generate() {
        try {
            var generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            return generator.generateKeyPair();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String pkcs8Pem() {
        return "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes())
                        .encodeToString(KEYS.getPrivate().getEncoded()) + "\n-----END PRIVATE KEY-----\n";
    }

    /** The PKCS#1 key inside the PKCS#8 encoding (after its fixed 26-byte header for a 2048-bit key). */
    static String pkcs1Pem() {
        var pkcs8 = KEYS.getPrivate().getEncoded();
        var pkcs1 = Arrays.copyOfRange(pkcs8, 26, pkcs8.length);
        return "-----BEGIN RSA PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(pkcs1)
                + "\n-----END RSA PRIVATE KEY-----\n";
    }

    @Test
    void signs_an_rs256_jwt_with_a_pkcs1_or_pkcs8_key() throws Exception {
        var now = Instant.parse("2026-01-01T12:00:00Z");
        for (var pem : List.of(pkcs1Pem(), pkcs8Pem(), pkcs1Pem().replace("\n", "\\n"))) {
            var auth = new AppAuth(4242L, pem.replace("\\n", "\n"), Clock.fixed(now, ZoneOffset.UTC), json);
            var parts = auth.jwt().split("\\.");
            assertThat(parts).hasSize(3);
            var header = json.readTree(Base64.getUrlDecoder().decode(parts[0]));
            var claims = json.readTree(Base64.getUrlDecoder().decode(parts[1]));
            assertThat(header.get("alg").asString()).isEqualTo("RS256");
            assertThat(claims.get("iss").asString()).isEqualTo("4242");
            assertThat(claims.get("iat").asLong()).isEqualTo(now.getEpochSecond() - 60);
            assertThat(claims.get("exp").asLong() - now.getEpochSecond())
                    .isPositive()
                    .isLessThanOrEqualTo(600);
            var verifier = Signature.getInstance("SHA256withRSA");
            verifier.initVerify(KEYS.getPublic());
            verifier.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
            assertThat(verifier.verify(Base64.getUrlDecoder().decode(parts[2]))).isTrue();
        }
    }

    @Test
    void installation_tokens_are_cached_and_refreshed_five_minutes_before_expiry() {
        var clock = new io.bisectbot.SettableClock(Instant.parse("2026-01-01T12:00:00Z"));
        var auth = new AppAuth(1L, pkcs8Pem(), clock, json);
        var fetched = new ArrayList<Long>();
        auth.tokenSource((installation, jwt) -> {
            fetched.add(installation);
            return new AppAuth.Token("token-" + fetched.size(), clock.instant().plus(Duration.ofHours(1)));
        });
        assertThat(auth.installationToken(7)).isEqualTo("token-1");
        clock.tick(Duration.ofMinutes(54));
        assertThat(auth.installationToken(7)).isEqualTo("token-1");
        assertThat(auth.installationToken(8)).isEqualTo("token-2");
        clock.tick(Duration.ofMinutes(2));
        assertThat(auth.installationToken(7)).isEqualTo("token-3");
        auth.invalidate(7);
        assertThat(auth.installationToken(7)).isEqualTo("token-4");
        assertThat(fetched).containsExactly(7L, 8L, 7L, 7L);
        assertThat(new AppAuth.Token("secret-value", clock.instant()).toString())
                .doesNotContain("secret-value");
    }

    @Test
    void unusable_keys_and_missing_settings_are_explained() {
        assertThatThrownBy(() -> AppAuth.parsePrivateKey("not a key")).hasMessageContaining("is not a PEM");
        assertThatThrownBy(
                        () -> AppAuth.parsePrivateKey("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"))
                .hasMessageContaining("cannot be read");
        assertThatThrownBy(() -> new AppAuth(null, null, Clock.systemUTC(), json).jwt())
                .hasMessageContaining("GITHUB_APP_ID");
    }
}
