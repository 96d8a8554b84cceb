package io.bisectbot.github;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * The App's credentials: RS256 JWTs signed with its private key, and installation tokens fetched with them, cached
 * per installation and refreshed {@link #REFRESH_BEFORE} before they expire. Neither is ever logged.
 */
final class AppAuth {

    static final Duration REFRESH_BEFORE = Duration.ofMinutes(5);
    private static final Duration JWT_BACKDATE = Duration.ofSeconds(60);
    private static final Duration JWT_LIFETIME = Duration.ofMinutes(9);
    private static final Pattern PEM =
            Pattern.compile("-----BEGIN (RSA )?PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END (RSA )?PRIVATE KEY-----");

    /** Fetches a new installation token; the API client implements it with the JWT. */
    interface TokenSource {
        Token fetch(long installationId, String jwt);
    }

    record Token(String value, Instant expiresAt) {
        @Override
        public String toString() {
            return "Token[expiresAt=" + expiresAt + "]";
        }
    }

    private final Long appId;
    private final PrivateKey key;
    private final Clock clock;
    private final JsonMapper json;
    private final ConcurrentHashMap<Long, Token> tokens = new ConcurrentHashMap<>();
    private volatile TokenSource source;

    AppAuth(Long appId, String pem, Clock clock, JsonMapper json) {
        this.appId = appId;
        this.key = pem == null ? null : parsePrivateKey(pem);
        this.clock = clock;
        this.json = json;
    }

    void tokenSource(TokenSource value) {
        this.source = value;
    }

    boolean configured() {
        return appId != null && key != null;
    }

    /** A JWT for the App itself: {@code iat} a minute in the past (clock drift), valid for 9 minutes. */
    String jwt() {
        if (!configured()) {
            throw new IllegalStateException(
                    "the GitHub App is not configured: set GITHUB_APP_ID and GITHUB_PRIVATE_KEY "
                            + "(or GITHUB_PRIVATE_KEY_FILE)");
        }
        var now = clock.instant();
        var header = JsonNodeFactory.instance.objectNode().put("alg", "RS256").put("typ", "JWT");
        var claims = JsonNodeFactory.instance
                .objectNode()
                .put("iat", now.minus(JWT_BACKDATE).getEpochSecond())
                .put("exp", now.plus(JWT_LIFETIME).getEpochSecond())
                .put("iss", String.valueOf(appId));
        var encoder = Base64.getUrlEncoder().withoutPadding();
        var signingInput = encoder.encodeToString(json.writeValueAsBytes(header)) + "."
                + encoder.encodeToString(json.writeValueAsBytes(claims));
        try {
            var signer = Signature.getInstance("SHA256withRSA");
            signer.initSign(key);
            signer.update(signingInput.getBytes(StandardCharsets.US_ASCII));
            return signingInput + "." + encoder.encodeToString(signer.sign());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign the App JWT: " + e.getMessage(), e);
        }
    }

    /** A valid token for the installation, from the cache unless it expires within {@link #REFRESH_BEFORE}. */
    String installationToken(long installationId) {
        var cached = tokens.get(installationId);
        if (cached != null && clock.instant().plus(REFRESH_BEFORE).isBefore(cached.expiresAt())) {
            return cached.value();
        }
        var fresh = source.fetch(installationId, jwt());
        tokens.put(installationId, fresh);
        return fresh.value();
    }

    /** Forgets a token GitHub refused (revoked, or the installation changed). */
    void invalidate(long installationId) {
        tokens.remove(installationId);
    }

    /** Reads a PKCS#8 ({@code BEGIN PRIVATE KEY}) or PKCS#1 ({@code BEGIN RSA PRIVATE KEY}) RSA key. */
    static PrivateKey parsePrivateKey(String pem) {
        var match = PEM.matcher(pem);
        if (!match.find()) {
            throw new IllegalArgumentException(
                    "the GitHub App private key is not a PEM 'RSA PRIVATE KEY' or 'PRIVATE KEY'");
        }
        var der = Base64.getMimeDecoder().decode(match.group(2));
        var pkcs8 = match.group(1) != null ? wrapPkcs1(der) : der;
        try {
            return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("the GitHub App private key cannot be read: " + e.getMessage());
        }
    }

    /** PKCS#8 PrivateKeyInfo around a PKCS#1 RSAPrivateKey: version 0, rsaEncryption with NULL parameters. */
    private static byte[] wrapPkcs1(byte[] pkcs1) {
        byte[] version = {0x02, 0x01, 0x00};
        byte[] algorithm = {
            0x30,
            0x0d,
            0x06,
            0x09,
            0x2a,
            (byte) 0x86,
            0x48,
            (byte) 0x86,
            (byte) 0xf7,
            0x0d,
            0x01,
            0x01,
            0x01,
            0x05,
            0x00
        };
        var octets = der(0x04, pkcs1);
        var content = new ByteArrayOutputStream();
        content.writeBytes(version);
        content.writeBytes(algorithm);
        content.writeBytes(octets);
        return der(0x30, content.toByteArray());
    }

    private static byte[] der(int tag, byte[] content) {
        var out = new ByteArrayOutputStream();
        out.write(tag);
        var length = content.length;
        if (length < 0x80) {
            out.write(length);
        } else {
            var bytes = length < 0x100 ? 1 : length < 0x10000 ? 2 : length < 0x1000000 ? 3 : 4;
            out.write(0x80 | bytes);
            for (int i = bytes - 1; i >= 0; i--) {
                out.write(length >>> (8 * i));
            }
        }
        out.writeBytes(content);
        return out.toByteArray();
    }
}
