/**
 * Finding the first bad commit the way {@code git bisect run} does, with parallel slots, flaky-test
 * repeats and crash-safe resume.
 *
 * <p>Entry points: {@link io.bisectbot.bisect.BisectEngine} runs a job against a
 * {@link io.bisectbot.bisect.RevisionSource} (usually a {@link io.bisectbot.git.GitRepository}), a
 * {@link io.bisectbot.bisect.StepRunner} that executes the test command and a
 * {@link io.bisectbot.bisect.StepStore} that persists runs; {@link io.bisectbot.bisect.BisectReport}
 * renders the {@link io.bisectbot.bisect.BisectResult}.
 *
 * <p>With one slot the commits chosen are exactly git's (bisect.c: weights by reachable candidates,
 * half-way shortcut, tie order, {@code skip_away}), so answers and test counts match {@code git bisect run}.
 * With k slots the engine tests k commits that cut the range into k+1 near-equal parts and cancels runs
 * whose commit a finished result has made irrelevant.
 */
package io.bisectbot.bisect;
