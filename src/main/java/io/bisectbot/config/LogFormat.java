package io.bisectbot.config;

import java.io.Console;

/**
 * Picks the console log format before logging starts: plain one-line text for a person at a terminal, JSON (ECS)
 * for everything else (files, pipes, log collectors). {@code LOG_FORMAT} overrides both, and the container image
 * sets it to {@code ecs}.
 */
public final class LogFormat {

    /** The property application.yml falls back to when {@code LOG_FORMAT} is unset. */
    static final String DEFAULT_PROPERTY = "bisectbot.default-log-format";

    private LogFormat() {}

    /** Sets the default for this process from whether its standard output is a terminal. */
    public static void chooseDefault() {
        if (System.getProperty(DEFAULT_PROPERTY) == null) {
            System.setProperty(DEFAULT_PROPERTY, defaultFor(stdoutIsTerminal()));
        }
    }

    /** Empty is Spring Boot's plain text format, coloured when the terminal supports it. */
    static String defaultFor(boolean terminal) {
        return terminal ? "" : "ecs";
    }

    public static boolean stdoutIsTerminal() {
        return isTerminal(System.console());
    }

    // Since JDK 22 System.console() exists even when output is redirected; Console.isTerminal() then tells.
    static boolean isTerminal(Console console) {
        if (console == null) {
            return false;
        }
        try {
            return (Boolean) Console.class.getMethod("isTerminal").invoke(console);
        } catch (ReflectiveOperationException e) {
            return true;
        }
    }
}
