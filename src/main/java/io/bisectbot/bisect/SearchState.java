package io.bisectbot.bisect;

import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The candidate set as git would compute it with {@code rev-list bad ^good...}, derived by replaying
 * verdicts in the order they were given. Replaying (instead of mutating) lets a confirmed verdict be
 * corrected in place and lets a resumed job rebuild the same state from stored runs.
 */
final class SearchState {

    final BitSet candidates;
    final int bad;

    private SearchState(BitSet candidates, int bad) {
        this.candidates = candidates;
        this.bad = bad;
    }

    /** @param originalBad index of the job's bad commit (always 0: it heads the rev-list output) */
    static SearchState replay(CandidateGraph graph, int originalBad, LinkedHashMap<Integer, Verdict> marks) {
        BitSet cands = graph.all();
        int bad = originalBad;
        for (Map.Entry<Integer, Verdict> e : marks.entrySet()) {
            int c = e.getKey();
            // A verdict on a commit that already left the set changes nothing, as in git.
            if (!cands.get(c)) continue;
            switch (e.getValue()) {
                case GOOD -> cands.andNot(graph.ancestors(c, cands));
                case BAD -> {
                    cands.and(graph.ancestors(c, cands));
                    bad = c;
                }
                case SKIP -> {}
            }
        }
        return new SearchState(cands, bad);
    }

    int count() {
        return candidates.cardinality();
    }
}
