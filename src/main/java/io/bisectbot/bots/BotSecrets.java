package io.bisectbot.bots;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * The secrets an operator grants to bot tasks, each with its scope: which repositories ({@code owner/name}, or
 * {@code owner/*}) and which installations may receive it. Read from {@code BOT_SECRETS_FILE}:
 * <pre>
 * secrets:
 *   NPM_TOKEN:
 *     env: NPM_PUBLISH_TOKEN        # or value: ..., or file: /run/secrets/npm (default env: BOT_SECRET_NPM_TOKEN)
 *     repositories: [acme/app, acme-libs/*]
 *     installations: [12345]        # optional; with repositories, both must match
 * </pre>
 * A secret with no scope is refused when the file is read: a grant names who gets it, nothing is global.
 */
public final class BotSecrets {

    private static final YAMLMapper yaml = YAMLMapper.builder().build();
    private static final Pattern NAME = Pattern.compile("[A-Z][A-Z0-9_]{0,62}");
    private static final Pattern REPOSITORY = Pattern.compile("[A-Za-z0-9_.-]+/([A-Za-z0-9_.-]+|\\*)");
    private static final Set<String> KEYS = Set.of("value", "env", "file", "repositories", "installations");

    /** One granted secret; {@code repositories} holds lower-case {@code owner/name} or {@code owner/*} patterns. */
    public record Secret(String name, String value, List<String> repositories, List<Long> installations) {
        public Secret {
            repositories = repositories == null
                    ? List.of()
                    : repositories.stream().map(r -> r.toLowerCase(Locale.ROOT)).toList();
            installations = installations == null ? List.of() : List.copyOf(installations);
        }

        boolean allows(String owner, String repo, long installationId) {
            var full = (owner + "/" + repo).toLowerCase(Locale.ROOT);
            var ownerAll = (owner + "/*").toLowerCase(Locale.ROOT);
            var repositoryOk = repositories.isEmpty() || repositories.contains(full) || repositories.contains(ownerAll);
            var installationOk = installations.isEmpty() || installations.contains(installationId);
            return repositoryOk && installationOk;
        }

        @Override
        public String toString() {
            return "Secret[" + name + ", repositories=" + repositories + ", installations=" + installations
                    + ", value=***]";
        }
    }

    /** A secrets file that cannot be used; the message says what to fix. */
    public static final class Invalid extends IllegalStateException {
        Invalid(String message) {
            super(message);
        }
    }

    private final Map<String, Secret> secrets;

    private BotSecrets(Map<String, Secret> secrets) {
        this.secrets = Map.copyOf(secrets);
    }

    public static BotSecrets none() {
        return new BotSecrets(Map.of());
    }

    public static BotSecrets of(Collection<Secret> secrets) {
        var byName = new LinkedHashMap<String, Secret>();
        secrets.forEach(s -> byName.put(s.name(), s));
        return new BotSecrets(byName);
    }

    /** Reads {@code file} (null: no secrets); values named by {@code env:} come from {@code environment}. */
    public static BotSecrets load(Path file, Map<String, String> environment) {
        if (file == null) {
            return none();
        }
        JsonNode root;
        try {
            root = yaml.readTree(Files.readString(file));
        } catch (IOException | JacksonException e) {
            throw new Invalid("BOT_SECRETS_FILE " + file + " cannot be read as YAML: " + e.getMessage());
        }
        var list = root == null ? null : root.path("secrets");
        if (list == null || list.isMissingNode() || list.isNull()) {
            return none();
        }
        if (!list.isObject()) {
            throw new Invalid(
                    "BOT_SECRETS_FILE " + file + ": `secrets` must map secret names to their value and scope");
        }
        var result = new ArrayList<Secret>();
        for (var name : list.propertyNames()) {
            result.add(secret(file, name, list.get(name), environment));
        }
        return of(result);
    }

    private static Secret secret(Path file, String name, JsonNode node, Map<String, String> environment) {
        var at = "BOT_SECRETS_FILE " + file + ", secret " + name + ": ";
        if (!NAME.matcher(name).matches()) {
            throw new Invalid(at + "a secret name is UPPER_CASE letters, digits and _, starting with a letter");
        }
        if (!node.isObject()) {
            throw new Invalid(at + "must be a mapping with a value source (value, env or file) and repositories");
        }
        for (var key : node.propertyNames()) {
            if (!KEYS.contains(key)) {
                throw new Invalid(at + "unknown key `" + key + "`; known: " + String.join(", ", new TreeSet<>(KEYS)));
            }
        }
        String value;
        if (node.hasNonNull("value")) {
            value = node.get("value").asString();
        } else if (node.hasNonNull("file")) {
            try {
                value = Files.readString(Path.of(node.get("file").asString())).strip();
            } catch (IOException e) {
                throw new Invalid(
                        at + "cannot read its file " + node.get("file").asString() + ": " + e.getMessage());
            }
        } else {
            var variable = node.hasNonNull("env") ? node.get("env").asString() : "BOT_SECRET_" + name;
            value = environment.get(variable);
            if (value == null || value.isEmpty()) {
                throw new Invalid(
                        at + "its value comes from the environment variable " + variable + ", which is not set");
            }
        }
        var repositories = new ArrayList<String>();
        for (var repository : node.path("repositories")) {
            if (!repository.isString()
                    || !REPOSITORY.matcher(repository.asString()).matches()) {
                throw new Invalid(at + "`" + repository + "` in repositories is not owner/name or owner/*");
            }
            repositories.add(repository.asString());
        }
        var installations = new ArrayList<Long>();
        for (var installation : node.path("installations")) {
            if (!installation.isIntegralNumber()) {
                throw new Invalid(at + "`" + installation + "` in installations is not an installation id");
            }
            installations.add(installation.asLong());
        }
        if (repositories.isEmpty() && installations.isEmpty()) {
            throw new Invalid(at + "say which repositories (owner/name or owner/*) or installations may receive it");
        }
        return new Secret(name, value, repositories, installations);
    }

    /**
     * What is wrong with {@code task}'s secrets for this repository: each one unknown or not granted to it. Empty
     * when the task may run with all of them.
     */
    public List<String> problems(BotTask task, String owner, String repo, long installationId) {
        var problems = new ArrayList<String>();
        for (var name : task.secrets()) {
            var secret = secrets.get(name);
            if (secret == null) {
                problems.add("task `" + task.name() + "` asks for secret " + name + ", which this service does not have"
                        + " (an operator grants it in BOT_SECRETS_FILE)");
            } else if (!secret.allows(owner, repo, installationId)) {
                problems.add("task `" + task.name() + "` asks for secret " + name + ", which is not granted to " + owner
                        + "/" + repo + " (an operator adds the repository to its scope in BOT_SECRETS_FILE)");
            }
        }
        return problems;
    }

    /** The values of {@code task}'s secrets, by name; only call once {@link #problems} is empty. */
    Map<String, String> values(BotTask task, String owner, String repo, long installationId) {
        var values = new LinkedHashMap<String, String>();
        for (var name : task.secrets()) {
            var secret = secrets.get(name);
            if (secret != null && secret.allows(owner, repo, installationId)) {
                values.put(name, secret.value());
            }
        }
        return values;
    }

    /** Names of {@code BOT_SECRET_*} variables no grant reads: set, but no task can ever receive them. */
    public List<String> unusedEnvironment(Map<String, String> environment) {
        return environment.keySet().stream()
                .filter(k -> k.startsWith("BOT_SECRET_"))
                .filter(k -> !secrets.containsKey(k.substring("BOT_SECRET_".length())))
                .sorted()
                .toList();
    }
}
