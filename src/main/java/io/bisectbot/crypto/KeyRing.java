package io.bisectbot.crypto;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

/**
 * The configured keys, in order: the first encrypts, all decrypt. Parsed from {@code id:base64key} entries separated
 * by commas or new lines; error messages name the entry and its id, never the key.
 */
final class KeyRing {

    static final int KEY_BYTES = 32;
    static final Pattern KEY_ID = Pattern.compile("[A-Za-z0-9_-]{1,32}");

    private final Map<String, SecretKey> keys;
    private final String current;

    private KeyRing(Map<String, SecretKey> keys) {
        this.keys = keys;
        this.current = keys.isEmpty() ? null : keys.keySet().iterator().next();
    }

    static KeyRing empty() {
        return new KeyRing(Map.of());
    }

    /**
     * @param source where the text came from, for messages ({@code ENCRYPTION_KEYS} or the file)
     */
    static KeyRing parse(String text, String source) {
        var keys = new LinkedHashMap<String, SecretKey>();
        if (text == null) {
            return new KeyRing(keys);
        }
        var entries = new ArrayList<String>();
        for (var line : text.split("\\R")) {
            var content = line.strip();
            if (content.startsWith("#")) {
                continue;
            }
            for (var entry : content.split(",")) {
                if (!entry.isBlank()) {
                    entries.add(entry.strip());
                }
            }
        }
        for (int i = 0; i < entries.size(); i++) {
            var entry = entries.get(i);
            var where = source + " entry " + (i + 1);
            int colon = entry.indexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException(where + " has no key id: expected id:base64key, e.g. the line "
                        + "`bisectbot keys generate` prints");
            }
            var id = entry.substring(0, colon).strip();
            if (!KEY_ID.matcher(id).matches()) {
                throw new IllegalArgumentException(
                        where + " has key id '" + (id.length() > 40 ? id.substring(0, 40) + "…" : id)
                                + "': an id is 1 to 32 letters, digits, '-' or '_'");
            }
            byte[] bytes;
            try {
                bytes = Base64.getDecoder().decode(entry.substring(colon + 1).strip());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + " (key id '" + id + "'): the key is not valid base64");
            }
            if (bytes.length != KEY_BYTES) {
                throw new IllegalArgumentException(where + " (key id '" + id + "'): the key is " + bytes.length
                        + " bytes after base64 decoding; AES-256 needs " + KEY_BYTES
                        + " (bisectbot keys generate makes one)");
            }
            if (keys.putIfAbsent(id, new SecretKeySpec(bytes, "AES")) != null) {
                throw new IllegalArgumentException(
                        where + ": key id '" + id + "' is listed twice; each key needs its own id");
            }
        }
        return new KeyRing(keys);
    }

    static KeyRing fromFile(Path file) {
        try {
            return parse(Files.readString(file), "ENCRYPTION_KEYS_FILE " + file);
        } catch (IOException e) {
            throw new IllegalArgumentException("ENCRYPTION_KEYS_FILE " + file + " cannot be read: " + e.getMessage());
        }
    }

    /** A new key line {@code id:base64key}. */
    static String generate(String id, SecureRandom random) {
        if (!KEY_ID.matcher(id).matches()) {
            throw new IllegalArgumentException("key id '" + id + "': an id is 1 to 32 letters, digits, '-' or '_'");
        }
        var key = new byte[KEY_BYTES];
        random.nextBytes(key);
        return id + ":" + Base64.getEncoder().encodeToString(key);
    }

    boolean isEmpty() {
        return keys.isEmpty();
    }

    /** The id of the key that encrypts; null without keys. */
    String current() {
        return current;
    }

    SecretKey currentKey() {
        return keys.get(current);
    }

    /** Null when there is no key of that id. */
    SecretKey key(String id) {
        return keys.get(id);
    }

    List<String> ids() {
        return List.copyOf(keys.keySet());
    }

    @Override
    public String toString() {
        return "KeyRing" + ids();
    }
}
