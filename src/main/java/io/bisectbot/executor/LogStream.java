package io.bisectbot.executor;

/** Where a log chunk came from; SYSTEM is text the executor itself adds (e.g. the omission marker). */
public enum LogStream {
    STDOUT,
    STDERR,
    SYSTEM
}
