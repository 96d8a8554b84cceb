package io.bisectbot.config;

import java.util.List;
import org.springframework.boot.autoconfigure.AutoConfigurationImportFilter;
import org.springframework.boot.autoconfigure.AutoConfigurationMetadata;
import org.springframework.context.EnvironmentAware;
import org.springframework.core.env.Environment;

/**
 * In the one-shot {@code bisect} mode only the auto-configurations the bisection uses are loaded: no metrics
 * binders, health, actuator, web server or MVC, whose classes and beans cost seconds before the first step.
 * Serving and migrating load everything as before.
 */
class OneShotAutoConfigurations implements AutoConfigurationImportFilter, EnvironmentAware {

    private static final List<String> ONE_SHOT = List.of(
            "org.springframework.boot.autoconfigure.context.",
            "org.springframework.boot.jackson.autoconfigure.",
            "org.springframework.boot.jdbc.autoconfigure.");

    private Environment environment;

    @Override
    public void setEnvironment(Environment environment) {
        this.environment = environment;
    }

    @Override
    public boolean[] match(String[] candidates, AutoConfigurationMetadata metadata) {
        var oneShot = environment != null && "bisect".equals(environment.getProperty("bisectbot.mode"));
        var matches = new boolean[candidates.length];
        for (int i = 0; i < candidates.length; i++) {
            matches[i] = !oneShot || candidates[i] == null || wanted(candidates[i]);
        }
        return matches;
    }

    static boolean wanted(String autoConfiguration) {
        // Spring applies these filters to every class an import selector names, so the project's own
        // configurations, which the one-shot application imports by name, must pass.
        if (autoConfiguration.startsWith("io.bisectbot.")) {
            return true;
        }
        var packageName = autoConfiguration.substring(0, autoConfiguration.lastIndexOf('.') + 1);
        return ONE_SHOT.contains(packageName);
    }
}
