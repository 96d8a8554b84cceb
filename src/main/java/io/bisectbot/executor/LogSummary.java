package io.bisectbot.executor;

/** Byte counts (UTF-8) of a step's output: what the step wrote, what was kept, what the cap dropped. */
public record LogSummary(long totalBytes, long storedBytes, long omittedBytes) {}
