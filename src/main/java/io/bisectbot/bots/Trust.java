package io.bisectbot.bots;

/**
 * Whether the code a bot job runs on may be given what its task asks for. Trusted code (a head in the repository
 * itself, pushed by someone with write access, or approved for its exact commit by such a person) gets the task's
 * secrets, network and outputs. Untrusted code (a fork's head, or a push by someone without write access) runs
 * with no secret, no network, no registry credentials, and reports only a check run or comment without its logs.
 *
 * @param reason     why, in words shown on GitHub ("head is in a fork", "approved by @octocat for 1a2b3c4")
 * @param approvedBy who approved this exact head, or null
 */
public record Trust(boolean trusted, String reason, String approvedBy) {

    public static Trust trusted(String reason) {
        return new Trust(true, reason, null);
    }

    public static Trust untrusted(String reason) {
        return new Trust(false, reason, null);
    }

    public static Trust approved(String approver, String sha) {
        return new Trust(
                true, "approved by @" + approver + " for " + sha.substring(0, Math.min(7, sha.length())), approver);
    }
}
