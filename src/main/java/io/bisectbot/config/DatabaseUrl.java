package io.bisectbot.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/** A PostgreSQL location as JDBC wants it, parsed from either URL style operators paste. */
record DatabaseUrl(String jdbcUrl, String username, String password) {

    static DatabaseUrl parse(String url) {
        var trimmed = url.trim();
        if (trimmed.startsWith("jdbc:postgresql:")) {
            return new DatabaseUrl(trimmed, null, null);
        }
        if (!trimmed.startsWith("postgres://") && !trimmed.startsWith("postgresql://")) {
            throw new IllegalArgumentException(
                    "DATABASE_URL must start with postgres://, postgresql:// or jdbc:postgresql:// "
                            + "(got a value starting with '" + trimmed.substring(0, Math.min(12, trimmed.length()))
                            + "')");
        }
        URI uri;
        try {
            uri = new URI(trimmed);
        } catch (URISyntaxException e) {
            // The message would echo the URL and with it the password.
            throw new IllegalArgumentException(
                    "DATABASE_URL is not a valid URL (expected postgres://user:pass@host:port/db)");
        }
        if (uri.getHost() == null) {
            throw new IllegalArgumentException("DATABASE_URL has no host (expected postgres://user:pass@host:port/db)");
        }
        String user = null;
        String password = null;
        if (uri.getRawUserInfo() != null) {
            var parts = uri.getRawUserInfo().split(":", 2);
            user = decode(parts[0]);
            password = parts.length > 1 ? decode(parts[1]) : null;
        }
        var port = uri.getPort() > 0 ? uri.getPort() : 5432;
        var database = uri.getRawPath() == null || uri.getRawPath().length() <= 1
                ? "postgres"
                : uri.getRawPath().substring(1);
        var query = uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery();
        return new DatabaseUrl(
                "jdbc:postgresql://" + uri.getHost() + ":" + port + "/" + database + query, user, password);
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "DatabaseUrl[" + jdbcUrl + ", user=" + username + "]";
    }
}
