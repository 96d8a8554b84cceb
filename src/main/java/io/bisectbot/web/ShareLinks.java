package io.bisectbot.web;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signed, expiring links to one job's report, for reports of public repositories linked from GitHub. A token is
 * {@code <expiry epoch seconds>.<base64url HMAC-SHA256 over job id and expiry>}; it is checked without the database.
 * The first key signs, all keys verify, so a key is rotated by putting the new one first and dropping the old one once
 * the links it signed have expired.
 */
public final class ShareLinks {

    /** The query parameter carrying the token. */
    public static final String PARAMETER = "share";
    /** Shorter keys are refused at start: an HMAC key should be as long as its output. */
    static final int MIN_KEY_LENGTH = 32;

    private final List<SecretKeySpec> keys;
    private final Duration ttl;
    private final Clock clock;

    ShareLinks(List<String> keys, Duration ttl, Clock clock) {
        for (var key : keys) {
            if (key.length() < MIN_KEY_LENGTH) {
                throw new IllegalArgumentException(
                        "SHARE_LINK_KEYS: a key has " + key.length() + " characters; each needs at least "
                                + MIN_KEY_LENGTH + " (e.g. from `openssl rand -base64 32`)");
            }
        }
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("SHARE_LINK_TTL must be positive, got " + ttl);
        }
        this.keys = keys.stream()
                .map(k -> new SecretKeySpec(k.getBytes(StandardCharsets.UTF_8), "HmacSHA256"))
                .toList();
        this.ttl = ttl;
        this.clock = clock;
    }

    /** Whether links are signed at all ({@code SHARE_LINK_KEYS} is set). */
    public boolean enabled() {
        return !keys.isEmpty();
    }

    /** A token for job {@code jobId}'s report, valid for the configured time from now; empty when disabled. */
    public Optional<String> token(long jobId) {
        if (!enabled()) {
            return Optional.empty();
        }
        var expiry = clock.instant().plus(ttl).getEpochSecond();
        return Optional.of(
                expiry + "." + new String(encode(mac(keys.getFirst(), jobId, expiry)), StandardCharsets.US_ASCII));
    }

    /** Whether {@code token} was signed by one of the keys for this very job and has not expired. */
    boolean verify(long jobId, String token) {
        if (!enabled() || token == null) {
            return false;
        }
        var dot = token.indexOf('.');
        if (dot <= 0) {
            return false;
        }
        long expiry;
        try {
            expiry = Long.parseLong(token.substring(0, dot));
        } catch (NumberFormatException e) {
            return false;
        }
        // Compared as encoded text, so only the one canonical spelling of a MAC is accepted.
        var given = token.substring(dot + 1).getBytes(StandardCharsets.US_ASCII);
        var matched = false;
        for (var key : keys) {
            matched |= MessageDigest.isEqual(given, encode(mac(key, jobId, expiry)));
        }
        return matched && clock.instant().getEpochSecond() < expiry;
    }

    private static byte[] encode(byte[] mac) {
        return Base64.getUrlEncoder().withoutPadding().encode(mac);
    }

    private static byte[] mac(SecretKeySpec key, long jobId, long expiry) {
        try {
            var mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            // A purpose prefix keeps these MACs from meaning anything elsewhere should the key be reused.
            return mac.doFinal(("bisectbot-report:" + jobId + ":" + expiry).getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no HmacSHA256", e);
        }
    }
}
