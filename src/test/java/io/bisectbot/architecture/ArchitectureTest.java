package io.bisectbot.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The package boundaries of docs/architecture.md, checked: no cycles between feature packages, each package uses
 * only the packages it is allowed to, and the queue's tables are queried only by the queue. A new dependency is a
 * design decision: add it to {@link #ALLOWED} (and to the diagram) in the same change, or find the seam that avoids it.
 */
class ArchitectureTest {

    private static final String ROOT = "io.bisectbot";

    /** Which feature packages each package may use. {@code loop} and {@code config} use none. */
    static final Map<String, Set<String>> ALLOWED = new TreeMap<>(Map.ofEntries(
            Map.entry("loop", Set.of()),
            Map.entry("config", Set.of()),
            Map.entry("crypto", Set.of("config")),
            Map.entry("executor", Set.of("crypto", "loop")),
            Map.entry("queue", Set.of("crypto", "executor", "loop")),
            Map.entry("web", Set.of("queue")),
            Map.entry("cache", Set.of("executor", "web")),
            Map.entry("git", Set.of("loop")),
            Map.entry("bisect", Set.of("cache", "executor", "git", "loop", "queue")),
            Map.entry("bots", Set.of("cache", "executor", "git", "queue")),
            Map.entry("callbacks", Set.of("bisect", "bots", "loop", "queue", "web")),
            Map.entry("api", Set.of("bisect", "callbacks", "executor", "queue", "web")),
            Map.entry("dashboard", Set.of("loop", "queue", "web")),
            Map.entry("github", Set.of("bisect", "bots", "crypto", "executor", "git", "loop", "queue", "web"))));

    /**
     * Files outside {@code queue} that may name the queue's tables in SQL, with the reason. {@code JobFence}'s SQL
     * fragments are the way for the rest: they are defined in the queue and used inside a feature's statement.
     */
    static final Map<String, String> QUEUE_SQL_EXCEPTIONS = Map.of(
            "crypto/Rotation.java",
            "re-encrypts every sealed column of every table in batches; crypto sits below the queue");

    private static final Pattern QUEUE_TABLE_SQL =
            Pattern.compile("(?i)\\b(from|join|update|into|table)\\s+(jobs|job_events|workers)\\b");

    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        // The compiled main classes only: scanning the class path's jars for the package would take far longer.
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPath(Path.of("target/classes"));
    }

    @Test
    void feature_packages_have_no_cycles() {
        slices().matching(ROOT + ".(*)..").should().beFreeOfCycles().check(classes);
    }

    @Test
    void each_package_uses_only_the_packages_it_is_allowed_to() {
        var packages = presentPackages();
        assertThat(ALLOWED.keySet())
                .as("every feature package has an entry in ALLOWED")
                .containsAll(packages);
        for (var entry : ALLOWED.entrySet()) {
            var forbidden = new TreeSet<>(packages);
            forbidden.remove(entry.getKey());
            forbidden.removeAll(entry.getValue());
            if (forbidden.isEmpty()) {
                continue;
            }
            noClasses()
                    .that()
                    .resideInAPackage(ROOT + "." + entry.getKey() + "..")
                    .should()
                    .dependOnClassesThat()
                    .resideInAnyPackage(
                            forbidden.stream().map(p -> ROOT + "." + p + "..").toArray(String[]::new))
                    .because(entry.getKey() + " may use only " + entry.getValue() + " (docs/architecture.md)")
                    .check(classes);
        }
    }

    @Test
    void only_the_queue_queries_the_queue_s_tables() throws IOException {
        var sources = Path.of("src/main/java/io/bisectbot");
        var offenders = new ArrayList<String>();
        try (var files = Files.walk(sources)) {
            for (var file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                var relative = sources.relativize(file).toString().replace('\\', '/');
                if (relative.startsWith("queue/") || QUEUE_SQL_EXCEPTIONS.containsKey(relative)) {
                    continue;
                }
                var matcher = QUEUE_TABLE_SQL.matcher(Files.readString(file));
                if (matcher.find()) {
                    offenders.add(relative + ": \"" + matcher.group() + "\"");
                }
            }
        }
        assertThat(offenders)
                .as("SQL on jobs, job_events or workers outside the queue package: add a JobQueue method")
                .isEmpty();
    }

    private static Set<String> presentPackages() {
        var packages = new TreeSet<String>();
        for (var javaClass : classes) {
            var name = javaClass.getPackageName();
            if (name.startsWith(ROOT + ".")) {
                packages.add(name.substring(ROOT.length() + 1).split("\\.")[0]);
            }
        }
        return packages;
    }
}
