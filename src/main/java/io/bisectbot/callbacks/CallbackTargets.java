package io.bisectbot.callbacks;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Where callbacks may go (no SSRF into the private network): https, or http to a host listed in
 * {@code CALLBACK_ALLOWED_HOSTS}; a host the list allows when it is not empty; and only public addresses unless the
 * host is listed by name or address (a wildcard entry does not open private addresses). The URL is checked when a
 * job asks for it, and its name is resolved and every address checked again at each attempt, whose connection then
 * goes to the address checked.
 */
final class CallbackTargets {

    static final int MAX_URL_LENGTH = 2000;
    private static final Pattern IPV4_LITERAL = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    /** Thrown when a host resolves to an address callbacks must not reach; permanent until the allowlist changes. */
    static final class Refused extends Exception {
        Refused(String message) {
            super(message);
        }
    }

    private final List<String> allowed;

    CallbackTargets(List<String> allowedHosts) {
        this.allowed =
                allowedHosts.stream().map(h -> h.toLowerCase(Locale.ROOT)).toList();
    }

    /** The URL as a callback target; an {@link IllegalArgumentException} says what is wrong with it. */
    URI check(String url) {
        if (url == null || url.isBlank()) {
            throw new IllegalArgumentException("a callback needs a 'url' (https://...)");
        }
        if (url.length() > MAX_URL_LENGTH) {
            throw new IllegalArgumentException(
                    "callback url is " + url.length() + " characters long; at most " + MAX_URL_LENGTH);
        }
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("callback url '" + url + "' is not a valid URL: " + e.getReason());
        }
        var scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("https") && !scheme.equals("http")) {
            throw new IllegalArgumentException("callback url '" + url + "' must be https://...");
        }
        if (uri.getRawUserInfo() != null) {
            throw new IllegalArgumentException(
                    "callback url must not carry a credential (user:password@); it would be stored with the job");
        }
        var host = host(uri);
        if (host == null || host.isEmpty()) {
            throw new IllegalArgumentException("callback url '" + url + "' has no host");
        }
        if (!allowed(host)) {
            throw new IllegalArgumentException("callback host '" + host + "' is not in CALLBACK_ALLOWED_HOSTS ("
                    + String.join(", ", allowed) + ")");
        }
        if (scheme.equals("http") && !listed(host)) {
            throw new IllegalArgumentException(
                    "callback url '" + url + "' must be https://...; plain http only goes to a host "
                            + "listed by name in CALLBACK_ALLOWED_HOSTS");
        }
        var literal = literal(host);
        if (literal != null && !listed(host) && !isPublic(literal)) {
            throw new IllegalArgumentException("callback address " + host + " is not a public address; list it in "
                    + "CALLBACK_ALLOWED_HOSTS to allow it");
        }
        return uri;
    }

    /**
     * Resolves the URL's host now and checks every address; returns the one to connect to.
     *
     * @throws Refused             when the host is not allowed or one of its addresses is not public (and the host not listed)
     * @throws UnknownHostException when the name does not resolve (may be temporary)
     */
    InetAddress resolve(URI uri) throws Refused, UnknownHostException {
        var host = host(uri);
        if (host == null || !allowed(host)) {
            throw new Refused("host '" + host + "' is not in CALLBACK_ALLOWED_HOSTS");
        }
        if (uri.getScheme().equalsIgnoreCase("http") && !listed(host)) {
            throw new Refused("plain http to '" + host + "', which CALLBACK_ALLOWED_HOSTS does not list");
        }
        var literal = literal(host);
        var addresses = literal != null ? new InetAddress[] {literal} : InetAddress.getAllByName(host);
        if (!listed(host)) {
            for (var address : addresses) {
                if (!isPublic(address)) {
                    throw new Refused("host '" + host + "' resolves to " + address.getHostAddress()
                            + ", which is not a public address; list the host in CALLBACK_ALLOWED_HOSTS to allow it");
                }
            }
        }
        return addresses[0];
    }

    private boolean allowed(String host) {
        if (allowed.isEmpty()) {
            return true;
        }
        for (var entry : allowed) {
            if (entry.equals(host) || entry.startsWith("*.") && host.endsWith(entry.substring(1))) {
                return true;
            }
        }
        return false;
    }

    /** Listed by its own name or address, not by a wildcard. */
    private boolean listed(String host) {
        return allowed.contains(host);
    }

    static String host(URI uri) {
        var host = uri.getHost();
        if (host == null) {
            return null;
        }
        host = host.toLowerCase(Locale.ROOT);
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    /** The address when {@code host} is an IP literal (no lookup happens), else null. */
    static InetAddress literal(String host) {
        if (!IPV4_LITERAL.matcher(host).matches() && !host.contains(":")) {
            return null;
        }
        try {
            return InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /** Not loopback, private, link-local (169.254.169.254, the cloud metadata address), multicast or reserved. */
    static boolean isPublic(InetAddress address) {
        if (address.isAnyLocalAddress()
                || address.isLoopbackAddress()
                || address.isLinkLocalAddress()
                || address.isSiteLocalAddress()
                || address.isMulticastAddress()) {
            return false;
        }
        var b = address.getAddress();
        if (address instanceof Inet4Address) {
            int first = b[0] & 0xff;
            int second = b[1] & 0xff;
            return first != 0 // "this network"
                    && !(first == 100 && second >= 64 && second < 128) // carrier-grade NAT
                    && !(first == 192 && second == 0 && (b[2] & 0xff) == 0) // IETF protocol assignments
                    && !(first == 198 && (second == 18 || second == 19)) // benchmarking
                    && first < 240; // reserved and broadcast
        }
        if (address instanceof Inet6Address) {
            if ((b[0] & 0xfe) == 0xfc) {
                return false; // unique local fc00::/7
            }
            if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && (b[3] & 0xff) == 0xb8) {
                return false; // documentation 2001:db8::/32
            }
            // Addresses that carry an IPv4 address (IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96) are judged by it.
            var nat64 = b[0] == 0 && b[1] == 0x64 && (b[2] & 0xff) == 0xff && (b[3] & 0xff) == 0x9b;
            var compatible = true;
            for (int i = 0; i < 12; i++) {
                compatible &= b[i] == 0;
            }
            if (nat64 || compatible) {
                try {
                    return isPublic(InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]}));
                } catch (UnknownHostException e) {
                    return false;
                }
            }
        }
        return true;
    }
}
