package io.bisectbot.bots;

import java.time.Duration;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Settings of bot jobs.
 *
 * @param defaultTimeout a task's timeout when its config names none
 * @param secrets        named secrets tasks may ask for ({@code BOT_SECRET_<NAME>} environment variables); never
 *                       read from a repository
 */
@ConfigurationProperties("bisectbot.bots")
public record BotProperties(@DefaultValue("30m") Duration defaultTimeout, Map<String, String> secrets) {

    public BotProperties {
        secrets = secrets == null ? Map.of() : Map.copyOf(secrets);
    }

    /** The {@code BOT_SECRET_<NAME>} variables of an environment, by name. */
    static Map<String, String> secretsFrom(Map<String, String> environment) {
        var secrets = new java.util.TreeMap<String, String>();
        environment.forEach((key, value) -> {
            if (key.startsWith("BOT_SECRET_") && key.length() > "BOT_SECRET_".length() && !value.isEmpty()) {
                secrets.put(key.substring("BOT_SECRET_".length()), value);
            }
        });
        return secrets;
    }
}
