package io.bisectbot.bisect;

import java.io.File;
import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * Which of standard output and standard error are terminals, and how wide the terminal is; detected once by the
 * command line and handed in, so tests choose either rendering.
 */
record Terminal(boolean stdout, boolean stderr, int columns) {

    static final int DEFAULT_COLUMNS = 80;

    /** Not a terminal at all: plain lines. */
    static final Terminal NONE = new Terminal(false, false, DEFAULT_COLUMNS);

    /** Whether the stream progress goes to is a terminal. */
    boolean progressIsTerminal(boolean toStdout) {
        return toStdout ? stdout : stderr;
    }

    // The JDK tells only whether standard output is a terminal (Console.isTerminal), not standard error: ask the
    // shell's `test -t` with that stream inherited, which works alike on Linux and macOS.
    static Terminal detect() {
        var stdout = isTerminal(1);
        var stderr = isTerminal(2);
        return new Terminal(stdout, stderr, stdout || stderr ? terminalColumns() : DEFAULT_COLUMNS);
    }

    private static boolean isTerminal(int fd) {
        var builder = new ProcessBuilder("sh", "-c", "test -t " + fd);
        if (fd == 1) {
            builder.redirectOutput(ProcessBuilder.Redirect.INHERIT);
        } else {
            builder.redirectError(ProcessBuilder.Redirect.INHERIT);
        }
        try {
            var process = builder.start();
            return process.waitFor(5, TimeUnit.SECONDS) && process.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static int terminalColumns() {
        var fromEnvironment = System.getenv("COLUMNS");
        if (fromEnvironment != null && fromEnvironment.matches("\\d{1,4}")) {
            return Integer.parseInt(fromEnvironment);
        }
        try {
            var process = new ProcessBuilder("stty", "size")
                    .redirectInput(new File("/dev/tty"))
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            var words =
                    new String(process.getInputStream().readAllBytes()).strip().split("\\s+");
            if (process.waitFor(5, TimeUnit.SECONDS)
                    && process.exitValue() == 0
                    && words.length == 2
                    && words[1].matches("\\d{1,4}")
                    && Integer.parseInt(words[1]) > 0) {
                return Integer.parseInt(words[1]);
            }
        } catch (IOException e) {
            // No controlling terminal to ask.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return DEFAULT_COLUMNS;
    }
}
