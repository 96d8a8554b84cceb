package io.bisectbot.bisect;

import java.time.Instant;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Optional;

/** A history held in memory (commit i has id {@code sha(i)}), for tests that need no git. */
final class InMemoryHistory implements RevisionSource {

    final List<int[]> parents;

    InMemoryHistory(List<int[]> parents) {
        this.parents = parents;
    }

    static InMemoryHistory linear(int n) {
        List<int[]> ps = new ArrayList<>();
        for (int i = 0; i < n; i++) ps.add(i == 0 ? new int[0] : new int[] {i - 1});
        return new InMemoryHistory(ps);
    }

    static String sha(int i) {
        return String.format("%08x%032x", i, 0xc0ffeeL);
    }

    static int index(String sha) {
        if (sha.length() != 40) throw new NumberFormatException(sha);
        return Integer.parseInt(sha.substring(0, 8), 16);
    }

    String tip() {
        return sha(parents.size() - 1);
    }

    @Override
    public Optional<String> resolve(String revision) {
        try {
            int i = index(revision);
            return i >= 0 && i < parents.size() ? Optional.of(sha(i)) : Optional.empty();
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    @Override
    public List<CommitInfo> revList(String bad, List<String> goods, boolean firstParent) {
        BitSet in = firstParent ? firstParentChain(index(bad)) : GeneratedHistory.ancestors(parents, index(bad));
        for (String g : goods) in.andNot(GeneratedHistory.ancestors(parents, index(g)));
        List<CommitInfo> out = new ArrayList<>();
        for (int i = in.previousSetBit(parents.size() - 1); i >= 0; i = in.previousSetBit(i - 1)) {
            List<String> ps = new ArrayList<>();
            for (int p : parents.get(i)) ps.add(sha(p));
            out.add(new CommitInfo(
                    sha(i),
                    ps,
                    "Commit " + i,
                    "Dev <dev@example.com>",
                    Instant.ofEpochSecond(1_700_000_000L + 60L * i)));
        }
        return out;
    }

    private BitSet firstParentChain(int start) {
        BitSet b = new BitSet();
        for (int c = start; ; c = parents.get(c)[0]) {
            b.set(c);
            if (parents.get(c).length == 0) return b;
        }
    }

    @Override
    public List<String> mergeBases(String bad, List<String> goods) {
        BitSet common = GeneratedHistory.ancestors(parents, index(bad));
        BitSet goodSide = new BitSet();
        for (String g : goods) goodSide.or(GeneratedHistory.ancestors(parents, index(g)));
        common.and(goodSide);
        BitSet best = (BitSet) common.clone();
        for (int c = common.nextSetBit(0); c >= 0; c = common.nextSetBit(c + 1)) {
            for (int p : parents.get(c)) best.andNot(GeneratedHistory.ancestors(parents, p));
        }
        List<String> out = new ArrayList<>();
        for (int c = best.previousSetBit(parents.size() - 1); c >= 0; c = best.previousSetBit(c - 1)) out.add(sha(c));
        return out;
    }

    @Override
    public boolean isAncestor(String ancestor, String descendant) {
        return GeneratedHistory.ancestors(parents, index(descendant)).get(index(ancestor));
    }
}
