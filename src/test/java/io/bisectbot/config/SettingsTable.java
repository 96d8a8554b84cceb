package io.bisectbot.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.PropertySource;
import org.springframework.core.io.ClassPathResource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * README.md's Settings table, rendered from the configuration metadata (descriptions and defaults of the properties
 * records, written by spring-boot-configuration-processor) and application.yml (the environment variable names and
 * the values of Spring's own properties).
 */
final class SettingsTable {

    static final String HEADER = "| name | default | meaning |\n|---|---|---|\n";
    private static final Pattern CODE = Pattern.compile("\\{@code ((?:[^{}]|\\{[^{}]*})*)}");
    private static final Pattern LINK = Pattern.compile("\\{@link (?:[\\w.]*#)?([^}\\s]*)[^}]*}");

    private SettingsTable() {}

    static List<PropertySource<?>> applicationYml() {
        try {
            return new YamlPropertySourceLoader().load("application.yml", new ClassPathResource("application.yml"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** This project's metadata, by property name: the file in the build's own output, not those in jars. */
    static Map<String, JsonNode> metadata() {
        try {
            var urls = SettingsTable.class.getClassLoader().getResources("META-INF/spring-configuration-metadata.json");
            var json = JsonMapper.builder().build();
            var byName = new LinkedHashMap<String, JsonNode>();
            for (var url : java.util.Collections.list(urls)) {
                if (!"file".equals(url.getProtocol())) {
                    continue;
                }
                try (var in = url.openStream()) {
                    for (var property : json.readTree(in).path("properties")) {
                        byName.put(property.path("name").asString(), property);
                    }
                }
            }
            if (byName.isEmpty()) {
                throw new IllegalStateException("no META-INF/spring-configuration-metadata.json in the build output: "
                        + "is spring-boot-configuration-processor configured in pom.xml?");
            }
            return byName;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String render() {
        var yml = applicationYml();
        var metadata = metadata();
        var table = new StringBuilder(HEADER);
        for (var entry : EnvironmentVariables.mapping(yml).entrySet()) {
            var property = entry.getValue();
            var meta = metadata.get(property);
            if (meta == null || meta.path("description").asString("").isBlank()) {
                throw new IllegalStateException(entry.getKey() + " maps to " + property + ", which has no description "
                        + "in the configuration metadata: document it with @param in its properties record (or, for a "
                        + "property of Spring's, in additional-spring-configuration-metadata.json)");
            }
            var value = meta.has("defaultValue") ? scalar(meta.get("defaultValue")) : ymlValue(yml, property);
            table.append("| `")
                    .append(entry.getKey())
                    .append("` | ")
                    .append(defaultCell(value))
                    .append(" | ")
                    .append(text(meta.path("description").asString()))
                    .append(" |\n");
        }
        return table.toString();
    }

    /** The table in README.md: from its header line to the first line that is not a row. */
    static String inReadme(String readme) {
        var start = readme.indexOf(HEADER, readme.indexOf("\n## Settings\n"));
        if (start < 0) {
            throw new IllegalStateException("README.md has no table under '## Settings' starting with " + HEADER);
        }
        var lines = new ArrayList<String>();
        for (var line : readme.substring(start).split("\n", -1)) {
            if (!line.startsWith("|")) {
                break;
            }
            lines.add(line);
        }
        return String.join("\n", lines) + "\n";
    }

    static String replaceInReadme(String readme, String table) {
        var current = inReadme(readme);
        var start = readme.indexOf(current, readme.indexOf("\n## Settings\n"));
        return readme.substring(0, start) + table + readme.substring(start + current.length());
    }

    private static String ymlValue(List<PropertySource<?>> yml, String property) {
        for (var source : yml) {
            var value = source.getProperty(property);
            if (value != null) {
                return value.toString();
            }
        }
        return null;
    }

    private static String scalar(JsonNode value) {
        return value.isValueNode() ? value.asString() : value.toString();
    }

    private static String defaultCell(String value) {
        if (value == null || value.isEmpty()) {
            return "(none)";
        }
        // A sentence (additional metadata) is shown as written, a value as code.
        return value.contains(" ") ? value : "`" + value + "`";
    }

    private static String text(String javadoc) {
        var text =
                CODE.matcher(javadoc).replaceAll(m -> java.util.regex.Matcher.quoteReplacement("`" + m.group(1) + "`"));
        text = LINK.matcher(text).replaceAll(m -> java.util.regex.Matcher.quoteReplacement("`" + m.group(1) + "`"));
        return text.replaceAll("\\s+", " ").replace("|", "\\|").strip();
    }
}
