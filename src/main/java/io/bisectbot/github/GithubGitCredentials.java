package io.bisectbot.github;

import io.bisectbot.git.GitCredentials;
import java.util.Optional;

/** Fetches repositories of jobs started from GitHub with their installation's token (never stored on disk). */
final class GithubGitCredentials implements GitCredentials {

    private final AppAuth auth;

    GithubGitCredentials(AppAuth auth) {
        this.auth = auth;
    }

    @Override
    public Optional<String> tokenFor(long installationId) {
        return installationId > 0 && auth.configured()
                ? Optional.of(auth.installationToken(installationId))
                : Optional.empty();
    }
}
