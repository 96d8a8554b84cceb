package io.bisectbot.executor;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;

/**
 * The forms in which a step can print a secret without printing it literally: base64 (standard and URL-safe, at
 * every byte offset the value can start at inside a longer encoded text, and line-wrapped as {@code base64} and
 * PEM tools wrap), hex (as {@code xxd -p} and {@code od} print it), URL-encoding and the value reversed
 * ({@code rev}). Masking can never be complete, which is why untrusted runs get no secret at all; this closes the
 * one-command ways out.
 */
final class SecretVariants {

    /** Shorter encoded pieces would mask ordinary words; the literal value is always masked whatever its length. */
    private static final int MIN_VARIANT = 6;

    private SecretVariants() {}

    static List<String> of(String secret) {
        var forms = new LinkedHashSet<String>();
        forms.add(secret);
        var bytes = secret.getBytes(StandardCharsets.UTF_8);
        for (int offset = 0; offset < 3; offset++) {
            var core = base64Core(bytes, offset);
            add(forms, core);
            add(forms, core.replace('+', '-').replace('/', '_'));
        }
        var whole = Base64.getEncoder().encodeToString(bytes);
        for (int width : new int[] {76, 64}) {
            if (whole.length() > width) {
                add(forms, wrap(whole, width, "\n"));
                add(forms, wrap(whole, width, "\r\n"));
            }
        }
        var hex = HexFormat.of().formatHex(bytes);
        add(forms, hex);
        add(forms, hex.toUpperCase(Locale.ROOT));
        if (hex.length() > 60) {
            add(forms, wrap(hex, 60, "\n"));
        }
        add(forms, URLEncoder.encode(secret, StandardCharsets.UTF_8));
        add(forms, URLEncoder.encode(secret, StandardCharsets.UTF_8).replace("+", "%20"));
        add(forms, new StringBuilder(secret).reverse().toString());
        return List.copyOf(forms);
    }

    /**
     * The base64 characters that depend on the secret's bytes alone when it starts {@code offset} bytes into a
     * 3-byte group: what {@code echo "TOKEN=$SECRET" | base64} shows of it whatever comes before or after.
     */
    private static String base64Core(byte[] secret, int offset) {
        var padded = new byte[offset + secret.length];
        System.arraycopy(secret, 0, padded, offset, secret.length);
        var encoded = Base64.getEncoder().withoutPadding().encodeToString(padded);
        int firstGroup = (offset + 2) / 3;
        int endGroup = (offset + secret.length) / 3;
        return endGroup <= firstGroup ? "" : encoded.substring(4 * firstGroup, 4 * endGroup);
    }

    private static String wrap(String text, int width, String newline) {
        var out = new StringBuilder();
        for (int i = 0; i < text.length(); i += width) {
            if (i > 0) {
                out.append(newline);
            }
            out.append(text, i, Math.min(text.length(), i + width));
        }
        return out.toString();
    }

    private static void add(LinkedHashSet<String> forms, String form) {
        if (form.length() >= MIN_VARIANT) {
            forms.add(form);
        }
    }
}
