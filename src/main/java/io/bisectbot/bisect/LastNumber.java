package io.bisectbot.bisect;

import io.bisectbot.executor.LogSink;
import io.bisectbot.executor.LogStream;
import java.util.regex.Pattern;

/**
 * The metric of a run in metric mode: the last number its standard output contains, read as the output streams by.
 * A number is an optional sign, digits with an optional decimal point (or a point and digits), and an optional
 * exponent: {@code 42}, {@code -3.5}, {@code .25}, {@code 1.2e-3}. Standard error is ignored. Output past the log cap
 * keeps its tail, so the last number survives a long log.
 */
final class LastNumber implements LogSink {

    private static final Pattern NUMBER = Pattern.compile("[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?");
    /** Characters that may continue a number into the next chunk. */
    private static final Pattern TRAILING = Pattern.compile("[-+0-9.eE]*$");

    private static final int MAX_CARRY = 256;

    private final LogSink inner;
    private String carry = "";
    private Double last;

    LastNumber(LogSink inner) {
        this.inner = inner;
    }

    @Override
    public void append(LogStream stream, String text) {
        inner.append(stream, text);
        if (stream == LogStream.STDOUT) accept(text);
    }

    synchronized void accept(String text) {
        String all = carry + text;
        var trailing = TRAILING.matcher(all);
        int cut = trailing.find() ? trailing.start() : all.length();
        cut = Math.max(cut, all.length() - MAX_CARRY);
        scan(all.substring(0, cut));
        carry = all.substring(cut);
    }

    private void scan(String text) {
        var m = NUMBER.matcher(text);
        while (m.find()) {
            try {
                double v = Double.parseDouble(m.group());
                if (Double.isFinite(v)) last = v;
            } catch (NumberFormatException ignored) {
                // The pattern only matches what parseDouble reads.
            }
        }
    }

    /** The last number seen, once the output has ended; null when there was none. */
    synchronized Double value() {
        scan(carry);
        carry = "";
        return last;
    }

    @Override
    public void flush() {
        inner.flush();
    }

    @Override
    public void close() {
        inner.close();
    }
}
