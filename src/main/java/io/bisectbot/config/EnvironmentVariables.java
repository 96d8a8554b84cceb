package io.bisectbot.config;

import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.EnumerablePropertySource;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.StandardEnvironment;

/**
 * Sets properties from the environment variables named in application.yml's {@code bisectbot.environment} map
 * (variable name: property name), for the variables that are set. An unset variable sets nothing, so the property
 * keeps its default, which lives only in its properties record ({@code @DefaultValue}); a placeholder such as
 * {@code ${X:default}} would need the default written a second time, and {@code ${X:}} would bind an empty value
 * where the default belongs. A variable set to an empty value binds that empty value, as a placeholder did.
 *
 * <p>Spring's relaxed binding would read {@code BISECTBOT_QUEUE_MAXCONCURRENTJOBS} by itself, but the documented
 * names ({@code MAX_CONCURRENT_JOBS}) are shorter and older, hence the map. The variables rank where the
 * placeholders did: above application.yml, below system properties and command-line arguments.
 */
public final class EnvironmentVariables implements EnvironmentPostProcessor, Ordered {

    /** The map's key in application.yml. */
    public static final String MAP = "bisectbot.environment";

    static final String SOURCE = "bisectbotEnvironmentVariables";

    @Override
    public int getOrder() {
        // After the config data (application.yml) is loaded, which runs at HIGHEST_PRECEDENCE + 10.
        return Ordered.LOWEST_PRECEDENCE;
    }

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        var values = new LinkedHashMap<String, Object>();
        var variables = environment.getSystemEnvironment();
        mapping(environment).forEach((variable, property) -> {
            var value = variables.get(variable);
            if (value != null) {
                values.put(property, value);
            }
        });
        var source = new MapPropertySource(SOURCE, values);
        var sources = environment.getPropertySources();
        if (sources.contains(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME)) {
            sources.addAfter(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, source);
        } else {
            sources.addLast(source);
        }
    }

    /** Variable name to property name, in the order application.yml lists them; the first source naming one wins. */
    public static Map<String, String> mapping(Iterable<PropertySource<?>> sources) {
        var mapping = new LinkedHashMap<String, String>();
        var prefix = MAP + ".";
        for (var source : sources) {
            if (source instanceof EnumerablePropertySource<?> enumerable && !SOURCE.equals(source.getName())) {
                for (var name : enumerable.getPropertyNames()) {
                    if (name.startsWith(prefix)) {
                        mapping.putIfAbsent(
                                name.substring(prefix.length()), String.valueOf(enumerable.getProperty(name)));
                    }
                }
            }
        }
        return mapping;
    }

    private static Map<String, String> mapping(ConfigurableEnvironment environment) {
        return mapping(environment.getPropertySources());
    }
}
