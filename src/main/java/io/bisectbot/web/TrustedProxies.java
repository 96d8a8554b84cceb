package io.bisectbot.web;

import jakarta.servlet.http.HttpServletRequest;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The address a request comes from. {@code X-Forwarded-For} is believed only when the direct peer is one of the
 * trusted proxies ({@code TRUSTED_PROXIES}, CIDR ranges): then the client is the rightmost address in it that is not
 * itself a trusted proxy, since everything left of that was written by the client and may be forged.
 */
final class TrustedProxies {

    private static final Pattern IPV4 =
            Pattern.compile("((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)");

    private record Range(byte[] network, int bits) {
        boolean contains(byte[] address) {
            if (address.length != network.length) {
                return false;
            }
            for (int i = 0; i < bits; i++) {
                var mask = 0x80 >>> (i % 8);
                if ((address[i / 8] & mask) != (network[i / 8] & mask)) {
                    return false;
                }
            }
            return true;
        }
    }

    private final List<Range> ranges;

    /** {@code configured}: comma-separated CIDR ranges or single addresses, e.g. {@code 10.0.0.0/8, ::1}. */
    TrustedProxies(String configured) {
        var parsed = new ArrayList<Range>();
        if (configured != null) {
            for (var entry : configured.split(",")) {
                var text = entry.trim();
                if (!text.isEmpty()) {
                    parsed.add(range(text));
                }
            }
        }
        this.ranges = List.copyOf(parsed);
    }

    String clientAddress(HttpServletRequest request) {
        var peer = request.getRemoteAddr();
        if (ranges.isEmpty() || !trusted(peer)) {
            return peer;
        }
        var hops = new ArrayList<String>();
        var headers = request.getHeaders("X-Forwarded-For");
        while (headers != null && headers.hasMoreElements()) {
            for (var hop : headers.nextElement().split(",")) {
                if (!hop.isBlank()) {
                    hops.add(hop.trim());
                }
            }
        }
        for (int i = hops.size() - 1; i >= 0; i--) {
            if (!trusted(hops.get(i))) {
                return hops.get(i);
            }
        }
        return hops.isEmpty() ? peer : hops.getFirst();
    }

    private boolean trusted(String address) {
        var bytes = literal(address);
        return bytes != null && ranges.stream().anyMatch(range -> range.contains(bytes));
    }

    private static Range range(String text) {
        var slash = text.indexOf('/');
        var address = literal(slash < 0 ? text : text.substring(0, slash));
        if (address == null) {
            throw new IllegalArgumentException(
                    "TRUSTED_PROXIES: '" + text + "' is not an IP address or CIDR range (e.g. 10.0.0.0/8 or ::1)");
        }
        var bits = address.length * 8;
        if (slash >= 0) {
            try {
                bits = Integer.parseInt(text.substring(slash + 1));
            } catch (NumberFormatException e) {
                bits = -1;
            }
            if (bits < 0 || bits > address.length * 8) {
                throw new IllegalArgumentException(
                        "TRUSTED_PROXIES: '" + text + "' has a prefix length outside 0–" + address.length * 8);
            }
        }
        return new Range(address, bits);
    }

    /** The bytes of an IP literal, or null for anything else (never a DNS lookup). */
    private static byte[] literal(String text) {
        var candidate = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
        if (!IPV4.matcher(candidate).matches() && !candidate.contains(":")) {
            return null;
        }
        try {
            return InetAddress.getByName(candidate).getAddress();
        } catch (UnknownHostException | SecurityException e) {
            return null;
        }
    }
}
