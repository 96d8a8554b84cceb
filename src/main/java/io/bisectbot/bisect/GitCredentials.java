package io.bisectbot.bisect;

import java.util.Optional;

/** Supplies a token to fetch a job's repository (e.g. a GitHub installation token); empty for public repositories. */
public interface GitCredentials {

    Optional<String> tokenFor(BisectRequest request);
}
