package io.bisectbot.api;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * Repository URLs that carry a credential are refused, because the job's payload (and so {@code /job/{id}}, its
 * history and backups) would keep it. {@code https://user:token@host/…} and {@code https://token@host/…} are
 * credentials; {@code ssh://git@host/…} and {@code git@host:path} name only the SSH user and are accepted.
 */
final class RepoUrls {

    private RepoUrls() {}

    static void refuseCredentials(String repo) {
        var schemeEnd = repo.indexOf("://");
        if (schemeEnd <= 0) {
            return; // a local path or an scp-like git@host:path: no password can be written there
        }
        var scheme = repo.substring(0, schemeEnd).toLowerCase(Locale.ROOT);
        String userInfo;
        try {
            userInfo = new URI(repo).getRawUserInfo();
        } catch (URISyntaxException e) {
            // Not parseable as a URI: look at the authority by hand, so a malformed URL cannot slip a credential
            // through.
            var rest = repo.substring(schemeEnd + 3);
            var authorityEnd = rest.indexOf('/') < 0 ? rest.length() : rest.indexOf('/');
            var at = rest.substring(0, authorityEnd).lastIndexOf('@');
            userInfo = at < 0 ? null : rest.substring(0, at);
        }
        if (userInfo == null || userInfo.isEmpty()) {
            return;
        }
        var http = scheme.equals("http") || scheme.equals("https");
        if (http || userInfo.contains(":")) {
            // The message names the scheme and host only; the credential is never echoed.
            throw new IllegalArgumentException("'repo' must not carry a credential in the URL (" + scheme + "://…@"
                    + host(repo, schemeEnd) + "/…): it would be stored with the job. Use a GitHub App installation "
                    + "(installation_id) or a repository readable without credentials, e.g. " + scheme + "://"
                    + host(repo, schemeEnd) + "/owner/repo.git");
        }
    }

    private static String host(String repo, int schemeEnd) {
        var rest = repo.substring(schemeEnd + 3);
        var authorityEnd = rest.indexOf('/') < 0 ? rest.length() : rest.indexOf('/');
        var authority = rest.substring(0, authorityEnd);
        return authority.substring(authority.lastIndexOf('@') + 1);
    }
}
