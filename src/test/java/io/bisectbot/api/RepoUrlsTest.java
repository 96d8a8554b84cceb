package io.bisectbot.api;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class RepoUrlsTest {

    @Test
    void https_and_http_user_info_is_a_credential_and_is_refused_without_echoing_it() {
        for (var url : new String[] {
            "https://user:ghp_secret123@github.com/acme/app.git",
            "https://ghp_secret123@github.com/acme/app.git",
            "http://x:ghp_secret123@git.example/app",
            "HTTPS://user:ghp_secret123@github.com/acme/app.git",
            "ssh://git:ghp_secret123@github.com/acme/app.git",
            "https://user:ghp_secret123@github.com/acme app.git"
        }) {
            assertThatThrownBy(() -> RepoUrls.refuseCredentials(url))
                    .as(url)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("GitHub App installation (installation_id)")
                    .hasMessageNotContaining("ghp_secret123")
                    .hasMessageNotContaining("user:");
        }
    }

    @Test
    void ssh_users_without_a_password_and_plain_urls_are_accepted() {
        for (var url : new String[] {
            "ssh://git@github.com/acme/app.git",
            "git@github.com:acme/app.git",
            "https://github.com/acme/app.git",
            "/srv/repos/app",
            "file:///srv/repos/app"
        }) {
            assertThatCode(() -> RepoUrls.refuseCredentials(url)).as(url).doesNotThrowAnyException();
        }
    }
}
