package io.bisectbot.bisect;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A seeded random history written as a real git repository. Every commit carries {@code test.sh} and a
 * {@code state} file (good / bad / skip) that the script turns into exit 0 / 1 / 125, so real
 * {@code git bisect run} and the engine judge commits the same way. Public for the tests of the git plumbing.
 */
public final class GeneratedHistory {

    public enum Shape {
        LINEAR,
        MERGES,
        CRISS_CROSS
    }

    public enum State {
        GOOD,
        BAD,
        SKIP
    }

    /** Commit dates: strictly increasing, tied in batches (scripted imports), or skewed clocks. */
    enum Dates {
        STRICT,
        TIED,
        SKEWED
    }

    static final String SCRIPT = """
            #!/bin/sh
            if [ -n "$BISECT_COUNTER" ]; then echo run >> "$BISECT_COUNTER"; fi
            case "$(cat state)" in
              good) exit 0 ;;
              skip) exit 125 ;;
              *) exit 1 ;;
            esac
            """;

    public final Path dir;
    public final List<int[]> parents;
    public final State[] states;
    public final int bad;
    public final List<Integer> goods;
    final int culprit;
    public final String[] shas;
    final Map<String, Integer> indexOf = new HashMap<>();

    private GeneratedHistory(
            Path dir, List<int[]> parents, State[] states, int bad, List<Integer> goods, int culprit, String[] shas) {
        this.dir = dir;
        this.parents = parents;
        this.states = states;
        this.bad = bad;
        this.goods = goods;
        this.culprit = culprit;
        this.shas = shas;
        for (int i = 0; i < shas.length; i++) indexOf.put(shas[i], i);
    }

    public String badSha() {
        return shas[bad];
    }

    public List<String> goodShas() {
        return goods.stream().map(g -> shas[g]).toList();
    }

    int exitCode(String sha) {
        return switch (states[indexOf.get(sha)]) {
            case GOOD -> 0;
            case BAD -> 1;
            case SKIP -> 125;
        };
    }

    public static GeneratedHistory create(Path dir, long seed, Shape shape, int n, int maxGoods, double skipRate)
            throws IOException {
        return create(dir, seed, shape, n, maxGoods, skipRate, Dates.STRICT);
    }

    static GeneratedHistory create(Path dir, long seed, Shape shape, int n, int maxGoods, double skipRate, Dates dates)
            throws IOException {
        Random rnd = new Random(seed);
        List<int[]> parents = new ArrayList<>();
        List<Integer> tips = new ArrayList<>();
        parents.add(new int[0]);
        tips.add(0);
        while (parents.size() < n) {
            int i = parents.size();
            int b = rnd.nextInt(tips.size());
            double r = rnd.nextDouble();
            if (shape != Shape.LINEAR && tips.size() > 1 && r < 0.15) {
                int o = (b + 1 + rnd.nextInt(tips.size() - 1)) % tips.size();
                int tb = tips.get(b);
                int to = tips.get(o);
                parents.add(new int[] {tb, to});
                tips.set(b, i);
                if (shape == Shape.CRISS_CROSS && rnd.nextBoolean()) {
                    parents.add(new int[] {to, tb}); // the classic criss-cross: each side merges the other's old tip
                    tips.set(o, i + 1);
                }
            } else if (shape != Shape.LINEAR && r < 0.25 && tips.size() < 4) {
                parents.add(new int[] {rnd.nextInt(i)});
                tips.add(i);
            } else {
                parents.add(new int[] {tips.get(b)});
                tips.set(b, i);
            }
        }
        // Bring most side branches home so that the range has merges; the rest stay as unmerged tips.
        for (int t = 1; t < tips.size(); t++) {
            if (rnd.nextDouble() < 0.7) {
                parents.add(new int[] {tips.get(0), tips.get(t)});
                tips.set(0, parents.size() - 1);
            }
        }
        int total = parents.size();
        int bad = tips.get(0);
        if (bad != total - 1) {
            parents.add(new int[] {bad});
            bad = total;
            total++;
        }
        BitSet badAncestors = ancestors(parents, bad);
        List<Integer> culpritChoices = new ArrayList<>();
        for (int i = badAncestors.nextSetBit(1); i >= 0; i = badAncestors.nextSetBit(i + 1)) culpritChoices.add(i);
        int culprit = culpritChoices.get(rnd.nextInt(culpritChoices.size()));
        State[] states = new State[total];
        List<Integer> goodChoices = new ArrayList<>();
        for (int i = 0; i < total; i++) {
            boolean isBad = ancestors(parents, i).get(culprit);
            states[i] = isBad ? State.BAD : State.GOOD;
            if (!isBad) goodChoices.add(i);
        }
        List<Integer> goods = new ArrayList<>();
        int wanted = 1 + rnd.nextInt(maxGoods);
        for (int g = 0; g < wanted; g++) {
            int c = goodChoices.get(rnd.nextInt(goodChoices.size()));
            if (!goods.contains(c)) goods.add(c);
        }
        for (int i = 0; i < total; i++) {
            if (i != bad && !goods.contains(i) && rnd.nextDouble() < skipRate) states[i] = State.SKIP;
        }
        long[] times = new long[total];
        for (int i = 0; i < total; i++) {
            times[i] = switch (dates) {
                case STRICT -> 60L * i;
                case TIED -> 3600L * (i / 8);
                case SKEWED -> 60L * i + rnd.nextInt(1200) - 600;
            };
        }
        String[] shas = write(dir, parents, states, bad, times);
        return new GeneratedHistory(dir, parents, states, bad, goods, culprit, shas);
    }

    static BitSet ancestors(List<int[]> parents, int start) {
        BitSet seen = new BitSet();
        List<Integer> todo = new ArrayList<>(List.of(start));
        seen.set(start);
        while (!todo.isEmpty()) {
            int c = todo.remove(todo.size() - 1);
            for (int p : parents.get(c)) {
                if (!seen.get(p)) {
                    seen.set(p);
                    todo.add(p);
                }
            }
        }
        return seen;
    }

    /** One fast-import process per repository: thousands of commits in well under a second. */
    private static String[] write(Path dir, List<int[]> parents, State[] states, int bad, long[] times)
            throws IOException {
        Files.createDirectories(dir);
        Git.run(dir, "init", "-q", "-b", "main");
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        StringBuilder sb = new StringBuilder();
        byte[] script = SCRIPT.getBytes(StandardCharsets.UTF_8);
        sb.append("blob\nmark :1\ndata ")
                .append(script.length)
                .append('\n')
                .append(SCRIPT)
                .append('\n');
        long base = 1_700_000_000L;
        for (int i = 0; i < parents.size(); i++) {
            String state = states[i].name().toLowerCase() + "\n";
            String msg = "Commit " + i + "\n";
            long ts = base + times[i];
            sb.append("commit refs/heads/import\nmark :")
                    .append(100 + i)
                    .append('\n')
                    .append("author Dev ")
                    .append(i % 3)
                    .append(" <dev@example.com> ")
                    .append(ts)
                    .append(" +0000\n")
                    .append("committer Dev <dev@example.com> ")
                    .append(ts)
                    .append(" +0000\n")
                    .append("data ")
                    .append(msg.length())
                    .append('\n')
                    .append(msg);
            int[] ps = parents.get(i);
            if (ps.length > 0) sb.append("from :").append(100 + ps[0]).append('\n');
            for (int k = 1; k < ps.length; k++)
                sb.append("merge :").append(100 + ps[k]).append('\n');
            sb.append("M 100755 :1 test.sh\n")
                    .append("M 100644 inline state\ndata ")
                    .append(state.length())
                    .append('\n')
                    .append(state)
                    .append('\n');
        }
        sb.append("reset refs/heads/main\nfrom :").append(100 + bad).append("\n\n");
        stream.writeBytes(sb.toString().getBytes(StandardCharsets.UTF_8));
        Path marks = dir.resolve(".git/generated-marks");
        Git.runWithInput(dir, stream.toByteArray(), "fast-import", "--quiet", "--export-marks=" + marks);
        Git.run(dir, "checkout", "-q", "-f", "main");
        Git.run(dir, "branch", "-q", "-D", "import");
        String[] shas = new String[parents.size()];
        for (String line : Files.readAllLines(marks)) {
            String[] f = line.split(" ");
            int m = Integer.parseInt(f[0].substring(1));
            if (m >= 100) shas[m - 100] = f[1];
        }
        return shas;
    }

    /** What real {@code git bisect run} answered, and how many times it ran the script. */
    record GitAnswer(List<String> firstBad, boolean onlySkipped, int runs, String output) {}

    private static final Pattern SHA = Pattern.compile("^[0-9a-f]{40}$", Pattern.MULTILINE);

    GitAnswer gitBisectRun(boolean firstParent) throws IOException {
        Path counter = dir.resolveSibling(dir.getFileName() + "-runs");
        Files.deleteIfExists(counter);
        List<String> start = new ArrayList<>(List.of("bisect", "start"));
        if (firstParent) start.add("--first-parent");
        start.add(badSha());
        start.addAll(goodShas());
        StringBuilder out = new StringBuilder();
        out.append(Git.run(dir, start.toArray(String[]::new)));
        // git bisect run stops ("bisect run success", no culprit) when a second merge base must be tested;
        // running it again goes on from there, as a user would.
        for (int attempt = 0; attempt < 10; attempt++) {
            String run = Git.exec(
                    dir, Map.of("BISECT_COUNTER", counter.toString()), null, false, "bisect", "run", "sh", "test.sh");
            out.append(run);
            if (run.contains("is the first bad commit") || run.contains("could be any of:")) break;
        }
        Git.run(dir, "bisect", "reset");
        int runs = Files.exists(counter) ? Files.readAllLines(counter).size() : 0;
        String text = out.toString();
        Matcher one = Pattern.compile("([0-9a-f]{40}) is the first bad commit").matcher(text);
        if (one.find()) return new GitAnswer(List.of(one.group(1)), false, runs, text);
        int at = text.indexOf("could be any of:");
        if (at < 0) throw new IllegalStateException("unexpected git bisect output:\n" + text);
        String tail = text.substring(at, text.indexOf("We cannot bisect more", at));
        List<String> any = new ArrayList<>();
        Matcher m = SHA.matcher(tail);
        while (m.find()) any.add(m.group());
        return new GitAnswer(any, true, runs, text);
    }

    /** Minimal git CLI for the tests. */
    public static final class Git {
        public static String run(Path dir, String... args) {
            return runEnv(dir, Map.of(), args);
        }

        static String runEnv(Path dir, Map<String, String> env, String... args) {
            return exec(dir, env, null, true, args);
        }

        static String runWithInput(Path dir, byte[] input, String... args) {
            return exec(dir, Map.of(), input, true, args);
        }

        static String exec(Path dir, Map<String, String> env, byte[] input, boolean mustSucceed, String... args) {
            List<String> cmd = new ArrayList<>(List.of(
                    "git",
                    "-c",
                    "user.name=Dev",
                    "-c",
                    "user.email=dev@example.com",
                    "-c",
                    "advice.detachedHead=false"));
            cmd.addAll(List.of(args));
            try {
                ProcessBuilder pb =
                        new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
                pb.environment().putAll(env);
                pb.environment().put("LC_ALL", "C");
                Process p = pb.start();
                try (OutputStream os = p.getOutputStream()) {
                    if (input != null) os.write(input);
                }
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(60, TimeUnit.SECONDS) || (mustSucceed && p.exitValue() != 0)) {
                    throw new IllegalStateException("git " + String.join(" ", args) + " failed:\n" + out);
                }
                return out;
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }
}
