package io.bisectbot.bisect;

/** Combines the runs of one commit into its verdict. */
interface RunTally {

    void add(Verdict v);

    /** Null while more runs are needed. */
    Verdict verdict();

    int passes();

    int failures();
}
