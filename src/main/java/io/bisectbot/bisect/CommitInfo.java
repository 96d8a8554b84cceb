package io.bisectbot.bisect;

import java.time.Instant;
import java.util.List;

/** One commit of the searched range, with what the report needs to name it. */
public record CommitInfo(String sha, List<String> parents, String subject, String author, Instant date) {
    public CommitInfo {
        parents = List.copyOf(parents);
    }

    public String shortSha() {
        return sha.substring(0, Math.min(12, sha.length()));
    }
}
