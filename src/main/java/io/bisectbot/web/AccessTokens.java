package io.bisectbot.web;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.springframework.http.HttpStatus;

/**
 * The bearer tokens of each role, kept only as SHA-256 hashes. A presented token is hashed and compared in constant
 * time against every configured hash, so neither the time taken nor an early exit says which one was close.
 */
final class AccessTokens {

    /** Who is calling, as far as the {@code Authorization} header says. */
    record Caller(State state, Role role) {
        enum State {
            NO_TOKEN,
            WRONG_TOKEN,
            VALID
        }

        static final Caller ANONYMOUS = new Caller(State.NO_TOKEN, null);
        static final Caller WRONG = new Caller(State.WRONG_TOKEN, null);

        boolean authenticated() {
            return state == State.VALID;
        }
    }

    /** Why a request is turned away: the HTTP status and a message for the JSON body. */
    record Refusal(HttpStatus status, String message) {}

    private final Map<Role, List<byte[]>> hashes = new EnumMap<>(Role.class);

    /** Each argument comma-separated, as in the environment; blank entries are ignored. */
    AccessTokens(String admin, String operator, String viewer) {
        hashes.put(Role.ADMIN, hashAll(admin));
        hashes.put(Role.OPERATOR, hashAll(operator));
        hashes.put(Role.VIEWER, hashAll(viewer));
    }

    /** The caller of a request carrying this {@code Authorization} header (null when absent). */
    Caller caller(String authorization) {
        if (authorization == null || authorization.isBlank()) {
            return Caller.ANONYMOUS;
        }
        if (!authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return Caller.WRONG;
        }
        var given = sha256(authorization.substring(7).trim());
        Role found = null;
        for (var role : Role.values()) {
            for (var hash : hashes.get(role)) {
                // Every hash is compared, whatever matched before.
                if (MessageDigest.isEqual(given, hash) && (found == null || role.satisfies(found))) {
                    found = role;
                }
            }
        }
        return found == null ? Caller.WRONG : new Caller(Caller.State.VALID, found);
    }

    /**
     * Who holds a valid token, for the history of what they did: the role and a short fingerprint of the token (eight
     * hex digits of a hash of its SHA-256), which tells tokens apart without saying anything usable about them.
     */
    static String actor(Role role, String authorization) {
        return role.label() + " token "
                + Actors.fingerprint(authorization.substring(7).trim());
    }

    /** Empty when {@code caller} may call an endpoint needing {@code required}, else why not. */
    Optional<Refusal> refusal(Caller caller, Role required) {
        if (caller.authenticated() && caller.role().satisfies(required)) {
            return Optional.empty();
        }
        if (!configuredFor(required)) {
            return Optional.of(new Refusal(
                    HttpStatus.FORBIDDEN,
                    required.label() + " endpoints are disabled: set " + variablesFor(required)
                            + " on the instance to enable them"));
        }
        return Optional.of(
                switch (caller.state()) {
                    case NO_TOKEN ->
                        new Refusal(
                                HttpStatus.UNAUTHORIZED,
                                "missing 'Authorization: Bearer <token>' header; this endpoint needs "
                                        + withArticle(required) + " token or higher");
                    case WRONG_TOKEN ->
                        new Refusal(
                                HttpStatus.UNAUTHORIZED,
                                "the bearer token is not one of this instance's tokens; this endpoint needs "
                                        + withArticle(required) + " token or higher");
                    case VALID ->
                        new Refusal(
                                HttpStatus.FORBIDDEN,
                                "needs " + required.label() + "; this token is "
                                        + caller.role().label());
                });
    }

    private static String withArticle(Role role) {
        return (role == Role.VIEWER ? "a " : "an ") + role.label();
    }

    private boolean configuredFor(Role required) {
        return Arrays.stream(Role.values())
                .anyMatch(role -> role.satisfies(required) && !hashes.get(role).isEmpty());
    }

    /** e.g. "VIEWER_TOKEN, OPERATOR_TOKEN or ADMIN_TOKEN". */
    static String variablesFor(Role required) {
        var names = Arrays.stream(Role.values())
                .filter(role -> role.satisfies(required))
                .map(Role::variable)
                .toList();
        return names.size() == 1
                ? names.getFirst()
                : String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.getLast();
    }

    private static List<byte[]> hashAll(String configured) {
        var result = new ArrayList<byte[]>();
        if (configured != null) {
            for (var token : configured.split(",")) {
                if (!token.isBlank()) {
                    result.add(sha256(token.trim()));
                }
            }
        }
        return List.copyOf(result);
    }

    private static byte[] sha256(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
