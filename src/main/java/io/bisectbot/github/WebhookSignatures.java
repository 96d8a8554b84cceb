package io.bisectbot.github;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.OptionalInt;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Checks {@code X-Hub-Signature-256}: HMAC-SHA256 of the raw body under one of the configured secrets (several
 * during a rotation), compared in constant time.
 */
final class WebhookSignatures {

    private static final String PREFIX = "sha256=";

    /** One initialised HMAC per secret, cloned for each request: a clone skips the provider lookup and the key setup. */
    private final List<Mac> keys;

    WebhookSignatures(List<String> secrets) {
        this.keys = secrets.stream()
                .map(s -> mac(new SecretKeySpec(s.getBytes(StandardCharsets.UTF_8), "HmacSHA256")))
                .toList();
    }

    boolean configured() {
        return !keys.isEmpty();
    }

    /** The index of the secret that signed {@code body}; empty when the header is missing, malformed or matches none. */
    OptionalInt verify(byte[] body, String header) {
        if (header == null || !header.startsWith(PREFIX) || header.length() != PREFIX.length() + 64) {
            return OptionalInt.empty();
        }
        byte[] given;
        try {
            given = HexFormat.of().parseHex(header.substring(PREFIX.length()).toLowerCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return OptionalInt.empty();
        }
        var matched = -1;
        for (int i = 0; i < keys.size(); i++) {
            // Every secret is tried, so the time taken does not tell which one matched.
            if (MessageDigest.isEqual(hmac(keys.get(i), body), given) && matched < 0) {
                matched = i;
            }
        }
        return matched < 0 ? OptionalInt.empty() : OptionalInt.of(matched);
    }

    /** {@code sha256=<hex>} of {@code body} under {@code secret}, as GitHub sends it. */
    static String sign(String secret, byte[] body) {
        return PREFIX
                + HexFormat.of()
                        .formatHex(mac(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"))
                                .doFinal(body));
    }

    private static Mac mac(SecretKeySpec key) {
        try {
            var mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is unavailable", e);
        }
    }

    /** The HMAC of {@code body} under an initialised prototype, which stays untouched (requests verify concurrently). */
    private static byte[] hmac(Mac prototype, byte[] body) {
        try {
            return ((Mac) prototype.clone()).doFinal(body);
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException("HmacSHA256 of this provider cannot be cloned", e);
        }
    }
}
