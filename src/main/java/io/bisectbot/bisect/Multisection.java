package io.bisectbot.bisect;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * Picks commits for free slots so that, together with the commits still running, they cut the
 * candidates into near-equal parts by weight (on a linear history: the exact k-section points).
 */
final class Multisection {

    private Multisection() {}

    /**
     * @param running   commits being tested now (already split points)
     * @param unusable  commits that must not be picked (bad, skipped, running)
     */
    static List<Integer> choose(
            CandidateGraph graph,
            BitSet candidates,
            int[] weight,
            int nr,
            Collection<Integer> running,
            Set<Integer> unusable,
            int free) {
        List<Integer> points = new ArrayList<>();
        points.add(0);
        for (int r : running) {
            if (candidates.get(r)) points.add(weight[r]);
        }
        points.add(nr);
        points.sort(null);
        int gaps = points.size() - 1;
        int[] extra = new int[gaps];
        for (int n = 0; n < free; n++) {
            int bestGap = 0;
            double bestPart = -1;
            for (int g = 0; g < gaps; g++) {
                double part = (points.get(g + 1) - points.get(g)) / (double) (extra[g] + 1);
                if (part > bestPart) {
                    bestPart = part;
                    bestGap = g;
                }
            }
            extra[bestGap]++;
        }
        List<Integer> chosen = new ArrayList<>();
        for (int g = 0; g < gaps; g++) {
            int a = points.get(g);
            int b = points.get(g + 1);
            for (int j = 1; j <= extra[g]; j++) {
                double target = a + (b - a) * (double) j / (extra[g] + 1);
                int pick = closest(graph, candidates, weight, target, unusable, chosen);
                if (pick >= 0) chosen.add(pick);
            }
        }
        return chosen;
    }

    private static int closest(
            CandidateGraph graph,
            BitSet candidates,
            int[] weight,
            double target,
            Set<Integer> unusable,
            List<Integer> chosen) {
        int best = -1;
        double bestDist = Double.MAX_VALUE;
        for (int c = candidates.nextSetBit(0); c >= 0; c = candidates.nextSetBit(c + 1)) {
            if (unusable.contains(c) || chosen.contains(c)) continue;
            double d = Math.abs(weight[c] - target);
            // Ties go to the lower commit id so that a job always makes the same choices.
            if (d < bestDist || (d == bestDist && graph.sha(c).compareTo(graph.sha(best)) < 0)) {
                best = c;
                bestDist = d;
            }
        }
        return best;
    }
}
