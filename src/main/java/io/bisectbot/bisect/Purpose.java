package io.bisectbot.bisect;

/** Why a commit was tested. */
public enum Purpose {
    VERIFY,
    MERGE_BASE,
    SEARCH,
    CONFIRM
}
