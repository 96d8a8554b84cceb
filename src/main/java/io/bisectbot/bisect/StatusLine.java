package io.bisectbot.bisect;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The command line's progress. On a terminal: the finished steps as lines, and below them one status line (round,
 * commits left, estimated rounds to go, the running steps with their elapsed time) redrawn in place with a carriage
 * return and erase-to-end-of-line, at most every {@link #MIN_REDRAW_NANOS}, only when its text changed, and never
 * wider than the terminal (a wrapped line could not be redrawn). Elsewhere (a file, a pipe, CI): the same lines, no
 * status line and no control characters.
 */
final class StatusLine implements BisectProgress {

    static final long MIN_REDRAW_NANOS = 250_000_000L;
    private static final String ERASE_TO_END = "\u001b[K";

    private final PrintStream out;
    private final boolean terminal;
    private final int columns;
    private final LongSupplier nanoTime;
    private final Map<StepRunner.Request, Long> running = new LinkedHashMap<>();
    private int round;
    private int commitsLeft;
    private int roundsToGo;
    /** What the terminal shows on the status line now; empty when nothing. */
    private String shown = "";

    private long drawnAt;
    /** Cleared for good: what follows (the report) is printed below the last line, with no status line after it. */
    private boolean closed;

    StatusLine(PrintStream out, boolean terminal, int columns, LongSupplier nanoTime) {
        this.out = out;
        this.terminal = terminal;
        this.columns = Math.max(20, columns);
        this.nanoTime = nanoTime;
    }

    @Override
    public synchronized void round(int round, int commitsLeft, int roundsToGo) {
        this.round = round;
        this.commitsLeft = commitsLeft;
        this.roundsToGo = roundsToGo;
    }

    @Override
    public synchronized void stepStarted(StepRunner.Request step) {
        running.put(step, nanoTime.getAsLong());
    }

    @Override
    public synchronized void stepEnded(StepRunner.Request step) {
        running.remove(step);
    }

    /** A line that stays: printed above the status line, which is drawn again below it. */
    synchronized void println(String line) {
        if (!terminal) {
            out.println(line);
            return;
        }
        out.print("\r" + line + ERASE_TO_END + "\n");
        shown = "";
        draw(true);
    }

    /** Redraws the status line if its text changed and the last redraw is old enough; call it a few times a second. */
    synchronized void refresh() {
        if (terminal) {
            draw(false);
        }
    }

    /** Removes the status line for good, before the report is printed; later lines are printed plainly. */
    synchronized void clear() {
        if (terminal && !shown.isEmpty()) {
            out.print("\r" + ERASE_TO_END);
            out.flush();
        }
        shown = "";
        closed = true;
    }

    private void draw(boolean now) {
        if (closed) {
            out.flush();
            return;
        }
        var text = fit(text());
        var at = nanoTime.getAsLong();
        if (text.equals(shown) || !now && !shown.isEmpty() && at - drawnAt < MIN_REDRAW_NANOS) {
            out.flush();
            return;
        }
        // One write that overwrites the old text and then erases what is left of it: nothing blank in between.
        out.print("\r" + text + ERASE_TO_END);
        out.flush();
        shown = text;
        drawnAt = at;
    }

    /** The status line's text, e.g. {@code round 2 · 7 commits left · about 3 rounds to go · running: search 4dd92080e3 12s}. */
    synchronized String text() {
        var text = new StringBuilder();
        if (round == 0) {
            text.append("verifying the ends");
        } else {
            text.append("round ")
                    .append(round)
                    .append(" · ")
                    .append(commitsLeft)
                    .append(commitsLeft == 1 ? " commit left" : " commits left")
                    .append(" · about ")
                    .append(roundsToGo)
                    .append(roundsToGo == 1 ? " round to go" : " rounds to go");
        }
        if (!running.isEmpty()) {
            var now = nanoTime.getAsLong();
            text.append(" · running:");
            running.forEach((step, since) -> text.append(' ')
                    .append(step.purpose().name().toLowerCase())
                    .append(' ')
                    .append(step.commit(), 0, Math.min(10, step.commit().length()))
                    .append(step.runIndex() > 0 ? " run " + (step.runIndex() + 1) : "")
                    .append(' ')
                    .append(elapsed(now - since))
                    .append(','));
            text.setLength(text.length() - 1);
        }
        return text.toString();
    }

    private static String elapsed(long nanos) {
        long seconds = nanos / 1_000_000_000L;
        return seconds < 60 ? seconds + "s" : seconds / 60 + "m" + String.format("%02d", seconds % 60) + "s";
    }

    // One column short of the width: a line that fills the last column makes some terminals wrap.
    private String fit(String text) {
        return text.length() < columns ? text : text.substring(0, columns - 2) + "…";
    }
}
