package io.bisectbot.git;

import java.util.Optional;

/** Supplies a token to fetch a job's repository (e.g. a GitHub installation token); empty for public repositories. */
public interface GitCredentials {

    /** @param installationId the GitHub App installation the job runs for; 0 for none */
    Optional<String> tokenFor(long installationId);
}
