package io.bisectbot.crypto;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Seals and opens column values with AES-256-GCM (the JDK's cipher; nothing here is a primitive of its own).
 *
 * <p>The envelope, version 1: a random 96-bit nonce per value, the 128-bit tag GCM appends, and as associated data
 * {@code bisectbot:<table>.<column>:v1:<key id>}, so neither the key id nor the column can be changed without the
 * tag failing. It is stored in one of two forms:
 * <ul>
 * <li>text columns: {@code bb1:<key id>:<base64 of nonce and ciphertext>}; JSON columns hold
 * {@code {"$sealed": "bb1:…"}} (plus the column's plain keys), which is still valid JSON;</li>
 * <li>bytea columns: byte 1 (the version), the key id's length, the key id in ASCII, the nonce, the ciphertext.</li>
 * </ul>
 * A text value without the prefix was written before encryption was turned on and is read as it is. Without keys,
 * a plain value that happens to start like an envelope is written as {@code bb0:<value>}, so it is never mistaken
 * for one.
 */
public final class Encryption {

    static final String SEALED_KEY = "$sealed";
    private static final String V1 = "bb1:";
    private static final String V0 = "bb0:";
    private static final byte VERSION = 1;
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final SecureRandom RANDOM = new SecureRandom();

    private final KeyRing keys;

    private Encryption(KeyRing keys) {
        this.keys = keys;
    }

    /** No keys: values are written in the clear, and only values without a key id can be read. */
    public static Encryption none() {
        return new Encryption(KeyRing.empty());
    }

    /** From {@code id:base64key} entries (commas or lines); the first encrypts. */
    public static Encryption fromKeys(String keys) {
        return new Encryption(KeyRing.parse(keys, "ENCRYPTION_KEYS"));
    }

    static Encryption of(KeyRing keys) {
        return new Encryption(keys);
    }

    public boolean enabled() {
        return !keys.isEmpty();
    }

    /** The id of the key new values are sealed with; null without keys. */
    public String currentKeyId() {
        return keys.current();
    }

    public List<String> keyIds() {
        return keys.ids();
    }

    // --- text ---------------------------------------------------------------------------------------------------

    public String sealText(Column column, String plain) {
        if (plain == null) {
            return null;
        }
        if (!enabled()) {
            return plain.startsWith(V1) || plain.startsWith(V0) ? V0 + plain : plain;
        }
        var id = keys.current();
        var sealed = encrypt(column, id, keys.currentKey(), plain.getBytes(StandardCharsets.UTF_8));
        return V1 + id + ":" + Base64.getEncoder().encodeToString(sealed);
    }

    public String openText(Column column, String stored) {
        if (stored == null) {
            return null;
        }
        if (stored.startsWith(V0)) {
            return stored.substring(V0.length());
        }
        if (!stored.startsWith(V1)) {
            return stored;
        }
        int colon = stored.indexOf(':', V1.length());
        if (colon < 0) {
            throw new EncryptionException(
                    "a value in " + column + " starts like an encrypted value (bb1:) but names no key id");
        }
        var id = stored.substring(V1.length(), colon);
        byte[] body;
        try {
            body = Base64.getDecoder().decode(stored.substring(colon + 1));
        } catch (IllegalArgumentException e) {
            throw new EncryptionException(
                    "a value in " + column + " encrypted with key '" + id + "' is damaged (not base64)");
        }
        return new String(decrypt(column, id, body), StandardCharsets.UTF_8);
    }

    // --- bytes ----------------------------------------------------------------------------------------------------

    /** For a bytea column; needs a key (without one, the caller stores the value in its plain column). */
    public byte[] sealBytes(Column column, byte[] plain) {
        if (!enabled()) {
            throw new EncryptionException("no ENCRYPTION_KEYS: a value for " + column + " cannot be encrypted");
        }
        var id = keys.current();
        var idBytes = id.getBytes(StandardCharsets.US_ASCII);
        var sealed = encrypt(column, id, keys.currentKey(), plain);
        return ByteBuffer.allocate(2 + idBytes.length + sealed.length)
                .put(VERSION)
                .put((byte) idBytes.length)
                .put(idBytes)
                .put(sealed)
                .array();
    }

    public byte[] openBytes(Column column, byte[] stored) {
        var id = keyIdOfBytes(column, stored);
        int start = 2 + id.length();
        var body = new byte[stored.length - start];
        System.arraycopy(stored, start, body, 0, body.length);
        return decrypt(column, id, body);
    }

    static String keyIdOfBytes(Column column, byte[] stored) {
        if (stored.length < 2 || stored[0] != VERSION || stored.length < 2 + stored[1]) {
            throw new EncryptionException(
                    "a value in " + column + " is not an encrypted value of version 1 (first byte "
                            + (stored.length == 0 ? "missing" : stored[0]) + ")");
        }
        return new String(stored, 2, stored[1], StandardCharsets.US_ASCII);
    }

    // --- JSON -----------------------------------------------------------------------------------------------------

    /** The JSON text to store for {@code value}: sealed, with the column's plain keys beside it. */
    public String sealJson(Column column, JsonNode value) {
        if (value == null) {
            return null;
        }
        var text = JSON.writeValueAsString(value);
        if (!enabled()) {
            return text.contains('"' + SEALED_KEY + '"') ? wrapped(column, V0 + text, null) : text;
        }
        return wrapped(column, sealText(column, text), value);
    }

    /** As {@link #sealJson(Column, JsonNode)}, for JSON that is text already. */
    public String sealJson(Column column, String json) {
        if (json == null) {
            return null;
        }
        if (!enabled()) {
            return json.contains('"' + SEALED_KEY + '"') ? wrapped(column, V0 + json, null) : json;
        }
        return column.plainKeys().isEmpty()
                ? wrapped(column, sealText(column, json), null)
                : sealJson(column, JSON.readTree(json));
    }

    /** The value as it was sealed; a stored value without {@code $sealed} is returned as it is. */
    public JsonNode openJson(Column column, JsonNode stored) {
        var sealed = sealedText(stored);
        return sealed == null ? stored : JSON.readTree(openText(column, sealed));
    }

    /** As {@link #openJson(Column, JsonNode)}, from the stored JSON text. */
    public JsonNode openJson(Column column, String stored) {
        return stored == null ? null : openJson(column, JSON.readTree(stored));
    }

    static String sealedText(JsonNode stored) {
        if (stored == null || !stored.isObject()) {
            return null;
        }
        var sealed = stored.get(SEALED_KEY);
        return sealed != null && sealed.isString() ? sealed.asString() : null;
    }

    private static String wrapped(Column column, String sealed, JsonNode value) {
        var node = JsonNodeFactory.instance.objectNode();
        node.put(SEALED_KEY, sealed);
        if (value != null && value.isObject()) {
            for (var key : column.plainKeys()) {
                copy(value, node, key);
            }
        }
        return JSON.writeValueAsString(node);
    }

    /** Copies a scalar at {@code key} ({@code a.b} for one level down); objects and arrays are never copied. */
    private static void copy(JsonNode from, ObjectNode to, String key) {
        int dot = key.indexOf('.');
        if (dot < 0) {
            var v = from.get(key);
            if (v != null && v.isValueNode()) {
                to.set(key, v);
            }
            return;
        }
        var parent = from.get(key.substring(0, dot));
        var v = parent == null ? null : parent.get(key.substring(dot + 1));
        if (v != null && v.isValueNode()) {
            var target =
                    to.get(key.substring(0, dot)) instanceof ObjectNode o ? o : to.putObject(key.substring(0, dot));
            target.set(key.substring(dot + 1), v);
        }
    }

    // --- the cipher -----------------------------------------------------------------------------------------------

    private static byte[] associatedData(Column column, String keyId) {
        return ("bisectbot:" + column.id() + ":v1:" + keyId).getBytes(StandardCharsets.UTF_8);
    }

    /** nonce ‖ ciphertext ‖ tag */
    private static byte[] encrypt(Column column, String keyId, SecretKey key, byte[] plain) {
        var nonce = new byte[NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        try {
            var cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
            cipher.updateAAD(associatedData(column, keyId));
            var input = column.compressed() ? deflate(plain) : plain;
            var out = new byte[NONCE_BYTES + cipher.getOutputSize(input.length)];
            System.arraycopy(nonce, 0, out, 0, NONCE_BYTES);
            cipher.doFinal(input, 0, input.length, out, NONCE_BYTES);
            return out;
        } catch (GeneralSecurityException e) {
            throw new EncryptionException(
                    "could not encrypt a value for " + column + " with key '" + keyId + "': " + e, e);
        }
    }

    private byte[] decrypt(Column column, String keyId, byte[] body) {
        var key = keys.key(keyId);
        if (key == null) {
            throw new EncryptionException(
                    keys.isEmpty()
                            ? "a value in " + column + " is encrypted with key '" + keyId
                                    + "', and no ENCRYPTION_KEYS are configured; "
                                    + "set ENCRYPTION_KEYS (or ENCRYPTION_KEYS_FILE) with that key"
                            : "a value in " + column + " is encrypted with key '" + keyId
                                    + "', which is not among the configured keys " + keys.ids()
                                    + "; add it to ENCRYPTION_KEYS after the current key");
        }
        if (body.length < NONCE_BYTES + TAG_BITS / 8) {
            throw new EncryptionException(
                    "a value in " + column + " encrypted with key '" + keyId + "' is too short to be one");
        }
        try {
            var cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, body, 0, NONCE_BYTES));
            cipher.updateAAD(associatedData(column, keyId));
            var plain = cipher.doFinal(body, NONCE_BYTES, body.length - NONCE_BYTES);
            return column.compressed() ? inflate(column, plain) : plain;
        } catch (AEADBadTagException e) {
            throw new EncryptionException(
                    "a value in " + column + " does not decrypt with key '" + keyId + "': the key "
                            + "configured under that id is not the one it was written with, or the value was altered or copied "
                            + "from another column");
        } catch (GeneralSecurityException e) {
            throw new EncryptionException(
                    "could not decrypt a value in " + column + " with key '" + keyId + "': " + e, e);
        }
    }

    private static byte[] deflate(byte[] plain) {
        var deflater = new Deflater(Deflater.BEST_SPEED, true);
        try {
            deflater.setInput(plain);
            deflater.finish();
            var out = new ByteArrayOutputStream(Math.max(64, plain.length / 3));
            var buffer = new byte[8192];
            while (!deflater.finished()) {
                out.write(buffer, 0, deflater.deflate(buffer));
            }
            return out.toByteArray();
        } finally {
            deflater.end();
        }
    }

    private static byte[] inflate(Column column, byte[] compressed) {
        var inflater = new Inflater(true);
        try {
            inflater.setInput(compressed);
            var out = new ByteArrayOutputStream(compressed.length * 4);
            var buffer = new byte[8192];
            while (!inflater.finished()) {
                int n = inflater.inflate(buffer);
                if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    throw new EncryptionException("a value in " + column + " decrypted but does not decompress");
                }
                out.write(buffer, 0, n);
            }
            return out.toByteArray();
        } catch (DataFormatException e) {
            throw new EncryptionException(
                    "a value in " + column + " decrypted but does not decompress: " + e.getMessage());
        } finally {
            inflater.end();
        }
    }

    @Override
    public String toString() {
        return enabled() ? "Encryption[keys " + keys.ids() + ", current " + keys.current() + "]" : "Encryption[off]";
    }
}
