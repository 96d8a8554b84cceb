package io.bisectbot.web;

import jakarta.servlet.http.HttpServletRequest;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Who made a request, as a job's history records it (e.g. "operator token 3f2a9c1e"); never a secret. */
public final class Actors {

    private Actors() {}

    /** The caller of an authenticated request; "anonymous" when it had no token or session (a public endpoint). */
    public static String of(HttpServletRequest request) {
        return request.getAttribute(AccessFilter.ACTOR) instanceof String actor ? actor : "anonymous";
    }

    /**
     * Eight hex digits of SHA-256 over the SHA-256 of {@code secret}: tells tokens (or sessions) apart in a history
     * without saying anything usable about them.
     */
    public static String fingerprint(String secret) {
        try {
            var sha = MessageDigest.getInstance("SHA-256");
            var digest = sha.digest(sha.digest(secret.getBytes(StandardCharsets.UTF_8)));
            return HexFormat.of().formatHex(digest, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
