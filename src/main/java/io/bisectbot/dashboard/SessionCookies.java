package io.bisectbot.dashboard;

import io.bisectbot.web.Actors;
import io.bisectbot.web.BrowserSessions;
import io.bisectbot.web.Role;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServletRequest;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.springframework.http.ResponseCookie;

/**
 * Signed, expiring session cookies, checked without the database, so any instance accepts a session another one
 * made. A cookie is {@code <role>.<expiry epoch seconds>.<nonce>.<base64url HMAC-SHA256 of the three>}; the CSRF token
 * of a session is an HMAC of its nonce under the same key, so it needs no storage either and an attacker without the
 * key cannot compute it. The first key signs, all verify.
 */
final class SessionCookies implements BrowserSessions {

    static final String COOKIE = "bisectbot_session";
    static final String CSRF_HEADER = "X-CSRF-Token";
    static final int MIN_KEY_LENGTH = 32;
    /** The login form posts a token, not the session; an old cookie must not keep anyone from logging in again. */
    private static final String LOGIN_PATH = "/dashboard/login";

    /** A verified session: its role, when it ends, and its nonce (what its CSRF token is derived from). */
    record Session(Role role, Instant expiresAt, String nonce) {}

    private final List<SecretKeySpec> keys;
    private final Duration ttl;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    SessionCookies(List<String> keys, Duration ttl, Clock clock) {
        if (keys.isEmpty()) {
            throw new IllegalArgumentException("at least one session key is needed");
        }
        for (var key : keys) {
            if (key.length() < MIN_KEY_LENGTH) {
                throw new IllegalArgumentException(
                        "SESSION_KEYS: a key has " + key.length() + " characters; each needs at least " + MIN_KEY_LENGTH
                                + " (e.g. from `openssl rand -base64 32`)");
            }
        }
        this.keys = keys.stream()
                .map(k -> new SecretKeySpec(k.getBytes(StandardCharsets.UTF_8), "HmacSHA256"))
                .toList();
        this.ttl = ttl;
        this.clock = clock;
    }

    /** A random key for an instance started without {@code SESSION_KEYS}. */
    static String randomKey() {
        var bytes = new byte[32];
        new SecureRandom().nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** A new session of {@code role}: the cookie's value. */
    String issue(Role role) {
        var nonceBytes = new byte[16];
        random.nextBytes(nonceBytes);
        var nonce = Base64.getUrlEncoder().withoutPadding().encodeToString(nonceBytes);
        var body = role.label() + "." + clock.instant().plus(ttl).getEpochSecond() + "." + nonce;
        return body + "." + encode(mac(keys.getFirst(), "bisectbot-session:" + body));
    }

    /** The session a cookie value names, when it was signed by one of the keys and has not expired. */
    Optional<Session> verify(String value) {
        if (value == null) {
            return Optional.empty();
        }
        var parts = value.split("\\.", -1);
        if (parts.length != 4) {
            return Optional.empty();
        }
        var body = parts[0] + "." + parts[1] + "." + parts[2];
        var given = parts[3].getBytes(StandardCharsets.US_ASCII);
        var matched = false;
        for (var key : keys) {
            matched |= MessageDigest.isEqual(
                    given, encode(mac(key, "bisectbot-session:" + body)).getBytes(StandardCharsets.US_ASCII));
        }
        if (!matched) {
            return Optional.empty();
        }
        Role role;
        long expiry;
        try {
            role = Role.valueOf(parts[0].toUpperCase(Locale.ROOT));
            expiry = Long.parseLong(parts[1]);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        if (clock.instant().getEpochSecond() >= expiry) {
            return Optional.empty();
        }
        return Optional.of(new Session(role, Instant.ofEpochSecond(expiry), parts[2]));
    }

    /** The CSRF token pages send back in {@value #CSRF_HEADER} with every action of this session. */
    String csrfToken(Session session) {
        return encode(mac(keys.getFirst(), "bisectbot-csrf:" + session.nonce()));
    }

    boolean csrfValid(Session session, String token) {
        if (token == null) {
            return false;
        }
        var given = token.getBytes(StandardCharsets.US_ASCII);
        var matched = false;
        for (var key : keys) {
            matched |= MessageDigest.isEqual(
                    given, encode(mac(key, "bisectbot-csrf:" + session.nonce())).getBytes(StandardCharsets.US_ASCII));
        }
        return matched;
    }

    Optional<Session> session(HttpServletRequest request) {
        var cookies = request.getCookies();
        if (cookies == null) {
            return Optional.empty();
        }
        for (Cookie cookie : cookies) {
            if (COOKIE.equals(cookie.getName())) {
                var session = verify(cookie.getValue());
                if (session.isPresent()) {
                    return session;
                }
            }
        }
        return Optional.empty();
    }

    @Override
    public Optional<Role> role(HttpServletRequest request) {
        return session(request).map(Session::role);
    }

    @Override
    public Optional<String> actor(HttpServletRequest request) {
        return session(request).map(s -> s.role().label() + " session " + Actors.fingerprint(s.nonce()));
    }

    @Override
    public Optional<String> csrfRefusal(HttpServletRequest request) {
        if (LOGIN_PATH.equals(request.getRequestURI())) {
            return Optional.empty();
        }
        var session = session(request);
        if (session.isEmpty() || csrfValid(session.get(), request.getHeader(CSRF_HEADER))) {
            return Optional.empty();
        }
        return Optional.of(
                request.getHeader(CSRF_HEADER) == null
                        ? "missing " + CSRF_HEADER
                                + " header: an action made with a dashboard session needs the session's CSRF token (GET /dashboard/session)"
                        : "the " + CSRF_HEADER
                                + " header does not belong to this session; reload the page to get the current one");
    }

    /** The cookie holding {@code value}; {@code Secure} when the browser reached us over HTTPS (directly or via a proxy). */
    ResponseCookie cookie(String value, HttpServletRequest request) {
        return ResponseCookie.from(COOKIE, value)
                .httpOnly(true)
                .secure(overHttps(request))
                .sameSite("Strict")
                .path("/")
                .maxAge(ttl)
                .build();
    }

    ResponseCookie expired(HttpServletRequest request) {
        return ResponseCookie.from(COOKIE, "")
                .httpOnly(true)
                .secure(overHttps(request))
                .sameSite("Strict")
                .path("/")
                .maxAge(0)
                .build();
    }

    /**
     * The forwarded protocol is believed from anyone: a false {@code https} only makes the cookie stricter, so a caller
     * gains nothing by sending it.
     */
    private static boolean overHttps(HttpServletRequest request) {
        return request.isSecure() || "https".equalsIgnoreCase(request.getHeader("X-Forwarded-Proto"));
    }

    private static String encode(byte[] mac) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(mac);
    }

    private static byte[] mac(SecretKeySpec key, String text) {
        try {
            var mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            return mac.doFinal(text.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no HmacSHA256", e);
        }
    }
}
