package io.bisectbot.config;

import java.io.PrintStream;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.diagnostics.FailureAnalysisReporter;

/**
 * Prints why the instance could not start as plain text on standard error, whatever the log format, so that a person
 * reads it without unpicking a JSON line. The log still gets the same report from Spring Boot's own reporter.
 */
class PlainFailureReporter implements FailureAnalysisReporter {

    private final PrintStream err;

    PlainFailureReporter() {
        this(System.err);
    }

    PlainFailureReporter(PrintStream err) {
        this.err = err;
    }

    @Override
    public void report(FailureAnalysis analysis) {
        var text = new StringBuilder("\nbisectbot could not start.\n\nProblem: ")
                .append(analysis.getDescription().strip());
        if (analysis.getAction() != null && !analysis.getAction().isBlank()) {
            text.append("\n\nWhat to do: ").append(analysis.getAction().strip());
        }
        err.println(text.append('\n'));
        err.flush();
    }
}
