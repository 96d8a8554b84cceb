package io.bisectbot.callbacks;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Checks a callback as a receiver should: {@code X-Bisectbot-Signature} holds {@code v1=<hex HMAC-SHA256(secret,
 * timestamp + "." + body)>} for one of the receiver's secrets, and {@code X-Bisectbot-Timestamp} (unix seconds) is
 * within the tolerance of now. A {@link ReplayGuard} then refuses an {@code event_id} seen before. Meant for receivers
 * written in Java and for their tests; docs/callbacks.md shows the same in Python and shell.
 */
public final class CallbackVerifier {

    public static final String TIMESTAMP_HEADER = "X-Bisectbot-Timestamp";
    public static final String SIGNATURE_HEADER = "X-Bisectbot-Signature";
    public static final Duration DEFAULT_TOLERANCE = Duration.ofMinutes(5);

    private CallbackVerifier() {}

    /** The answer of a check: valid, or why not (safe to log: it names no secret). */
    public record Verification(boolean valid, String reason) {
        static final Verification OK = new Verification(true, "valid");

        static Verification invalid(String reason) {
            return new Verification(false, reason);
        }
    }

    /**
     * Whether {@code body} was signed at {@code timestampHeader} with one of {@code secrets}, no longer ago (or
     * further ahead) than {@code tolerance} from {@code now}.
     */
    public static Verification verify(
            List<String> secrets,
            String timestampHeader,
            String signatureHeader,
            byte[] body,
            Instant now,
            Duration tolerance) {
        if (secrets == null || secrets.isEmpty()) {
            return Verification.invalid("no secret to verify with");
        }
        if (timestampHeader == null || signatureHeader == null) {
            return Verification.invalid("missing " + (timestampHeader == null ? TIMESTAMP_HEADER : SIGNATURE_HEADER));
        }
        long timestamp;
        try {
            timestamp = Long.parseLong(timestampHeader.strip());
        } catch (NumberFormatException e) {
            return Verification.invalid(TIMESTAMP_HEADER + " is not unix seconds: '" + timestampHeader + "'");
        }
        var age = Duration.ofSeconds(Math.abs(now.getEpochSecond() - timestamp));
        if (age.compareTo(tolerance) > 0) {
            return Verification.invalid(
                    "timestamp " + timestamp + " is " + age.toSeconds() + " s from now, more than the tolerance of "
                            + tolerance.toSeconds() + " s (an old event replayed, or a clock that is off)");
        }
        var offered = new ArrayList<byte[]>();
        for (var part : signatureHeader.split(",")) {
            var item = part.strip();
            if (item.startsWith("v1=")) {
                try {
                    offered.add(HexFormat.of().parseHex(item.substring(3)));
                } catch (IllegalArgumentException e) {
                    // Not hex: cannot match, other entries may.
                }
            }
        }
        if (offered.isEmpty()) {
            return Verification.invalid(SIGNATURE_HEADER + " has no v1= signature");
        }
        for (var secret : secrets) {
            var expected = mac(secret, timestamp, body);
            for (var candidate : offered) {
                if (MessageDigest.isEqual(expected, candidate)) {
                    return Verification.OK;
                }
            }
        }
        return Verification.invalid("no v1= signature matches any of the " + secrets.size() + " secret(s)");
    }

    /** {@link #verify} with {@link #DEFAULT_TOLERANCE}. */
    public static Verification verify(
            List<String> secrets, String timestampHeader, String signatureHeader, byte[] body, Instant now) {
        return verify(secrets, timestampHeader, signatureHeader, body, now, DEFAULT_TOLERANCE);
    }

    /** The {@code X-Bisectbot-Signature} value: one {@code v1=} per secret, comma-separated. */
    public static String signatureHeader(List<String> secrets, long timestamp, byte[] body) {
        var parts = new ArrayList<String>(secrets.size());
        for (var secret : secrets) {
            parts.add("v1=" + HexFormat.of().formatHex(mac(secret, timestamp, body)));
        }
        return String.join(",", parts);
    }

    private static byte[] mac(String secret, long timestamp, byte[] body) {
        try {
            var mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            mac.update((timestamp + ".").getBytes(StandardCharsets.UTF_8));
            return mac.doFinal(body);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JDK", e);
        }
    }

    /**
     * Refuses an {@code event_id} seen before. Ids are kept for twice the tolerance: anything older is refused by the
     * timestamp check already, so memory stays bounded. One instance per receiver; thread-safe. A receiver with
     * several processes keeps the ids in its database instead (a unique key on {@code event_id}).
     */
    public static final class ReplayGuard {
        private final Duration keep;
        private final Map<String, Instant> seen = new LinkedHashMap<>();

        public ReplayGuard(Duration tolerance) {
            this.keep = tolerance.multipliedBy(2);
        }

        public ReplayGuard() {
            this(DEFAULT_TOLERANCE);
        }

        /** True the first time {@code eventId} is offered (within the window), false for a repeat. */
        public synchronized boolean firstTime(String eventId, Instant now) {
            var horizon = now.minus(keep);
            var oldest = seen.entrySet().iterator();
            while (oldest.hasNext() && oldest.next().getValue().isBefore(horizon)) {
                oldest.remove();
            }
            if (eventId == null || seen.containsKey(eventId)) {
                return false;
            }
            seen.put(eventId, now);
            return true;
        }
    }
}
