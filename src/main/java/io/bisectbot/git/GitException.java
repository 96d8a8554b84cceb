package io.bisectbot.git;

/** A git command failed; the message is git's own (with any token masked). Worth retrying: a network or host may be back. */
public final class GitException extends RuntimeException {

    public GitException(String message) {
        super(message);
    }
}
