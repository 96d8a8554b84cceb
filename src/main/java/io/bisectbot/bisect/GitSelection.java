package io.bisectbot.bisect;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * Chooses the next commit the way git's bisect.c does (find_bisection, do_find_bisection,
 * best_bisection[_sorted], managed_skipped, skip_away), so a one-slot job tests the same commits
 * as {@code git bisect run}. Weights are "candidates reachable from this commit, itself included".
 */
final class GitSelection {

    sealed interface Next {
        record Test(int commit) implements Next {}

        record Found(int commit) implements Next {}

        /** Git's "There are only 'skip'ped commits left to test": skipped candidates, then bad. */
        record OnlySkipped(List<Integer> commits) implements Next {}
    }

    private static final int PRN_MODULO = 32768;

    private final CandidateGraph graph;
    private final boolean firstParent;

    GitSelection(CandidateGraph graph, boolean firstParent) {
        this.graph = graph;
        this.firstParent = firstParent;
    }

    Next next(SearchState state, Set<Integer> skipped) {
        List<Integer> list = oldestFirst(state);
        boolean all = !skipped.isEmpty();
        int[] weight = new int[graph.size()];
        Integer shortcut = weigh(list, state.candidates, weight, !all);
        int nr = list.size();
        if (!all) {
            int best = shortcut != null ? shortcut : bestBisection(list, weight, nr);
            return best == state.bad ? new Next.Found(best) : new Next.Test(best);
        }
        List<Integer> sorted = sortedByDistance(list, weight, nr);
        // filter_skipped: the best one is taken unless it was skipped.
        if (!skipped.contains(sorted.get(0))) {
            int best = sorted.get(0);
            return best == state.bad ? new Next.Found(best) : new Next.Test(best);
        }
        List<Integer> tried = new ArrayList<>();
        List<Integer> filtered = new ArrayList<>();
        for (int c : sorted) {
            (skipped.contains(c) ? tried : filtered).add(c);
        }
        Integer pick = skipAway(filtered, filtered.size(), state.bad);
        if (pick == null || pick == state.bad) {
            List<Integer> any = new ArrayList<>(tried);
            if (pick != null) any.add(pick);
            return new Next.OnlySkipped(any);
        }
        return new Next.Test(pick);
    }

    /** Weight of every candidate (for multisection); index by graph position. */
    int[] weights(SearchState state) {
        int[] weight = new int[graph.size()];
        weigh(oldestFirst(state), state.candidates, weight, false);
        return weight;
    }

    /** Git walks the rev-list output reversed, so ties go to the older commit. */
    private List<Integer> oldestFirst(SearchState state) {
        List<Integer> list = graph.revListOrder(state.bad, state.candidates);
        java.util.Collections.reverse(list);
        return list;
    }

    /**
     * do_find_bisection: cheap +1 propagation along single-parent chains, a real count for merges.
     * Returns a commit early when it is about half-way and shortcuts are allowed, as git does.
     */
    private Integer weigh(List<Integer> list, BitSet cands, int[] weight, boolean shortcut) {
        int nr = list.size();
        int counted = 0;
        for (int p : list) {
            int interesting = interestingParents(p, cands);
            if (interesting == 0) {
                weight[p] = 1;
                counted++;
            } else {
                weight[p] = interesting == 1 ? -1 : -2;
            }
        }
        for (int p : list) {
            if (weight[p] == -2) {
                weight[p] = countDistance(p, cands);
                if (shortcut && approxHalfway(weight[p], nr)) return p;
                counted++;
            }
        }
        while (counted < nr) {
            for (int p : list) {
                if (weight[p] >= 0) continue;
                int known = -1;
                for (int q : graph.parents(p)) {
                    if (!cands.get(q)) continue;
                    if (weight[q] >= 0) {
                        known = q;
                        break;
                    }
                }
                if (known < 0) continue;
                weight[p] = weight[known] + 1;
                counted++;
                if (shortcut && approxHalfway(weight[p], nr)) return p;
            }
        }
        return null;
    }

    private int interestingParents(int c, BitSet cands) {
        int n = 0;
        for (int p : graph.parents(c)) {
            if (cands.get(p)) n++;
        }
        return n;
    }

    private int countDistance(int start, BitSet cands) {
        BitSet seen = new BitSet(graph.size());
        ArrayDeque<Integer> todo = new ArrayDeque<>();
        todo.push(start);
        seen.set(start);
        int n = 0;
        while (!todo.isEmpty()) {
            int c = todo.pop();
            n++;
            for (int p : graph.parents(c)) {
                if (cands.get(p) && !seen.get(p)) {
                    seen.set(p);
                    todo.push(p);
                }
            }
        }
        return n;
    }

    private static boolean approxHalfway(int weight, int nr) {
        int diff = 2 * weight - nr;
        if (diff >= -1 && diff <= 1) return true;
        return Math.abs(diff) < nr / 1024;
    }

    private static int bestBisection(List<Integer> list, int[] weight, int nr) {
        int best = list.get(0);
        int bestDistance = -1;
        for (int p : list) {
            int distance = Math.min(weight[p], nr - weight[p]);
            if (distance > bestDistance) {
                best = p;
                bestDistance = distance;
            }
        }
        return best;
    }

    private List<Integer> sortedByDistance(List<Integer> list, int[] weight, int nr) {
        List<Integer> sorted = new ArrayList<>(list);
        sorted.sort(Comparator.<Integer>comparingInt(p -> -Math.min(weight[p], nr - weight[p]))
                .thenComparing(p -> graph.sha(p)));
        return sorted;
    }

    /** skip_away: move a pseudo-random, but reproducible, distance away from the skipped best commit. */
    private static Integer skipAway(List<Integer> list, int count, int bad) {
        if (list.isEmpty()) return null;
        long prn = prn(count);
        long index = (count * prn / PRN_MODULO) * sqrti((int) prn) / sqrti(PRN_MODULO);
        Integer previous = null;
        for (int i = 0; i < list.size(); i++) {
            if (i == index) {
                int cur = list.get(i);
                if (cur != bad) return cur;
                return previous != null ? previous : list.get(0);
            }
            previous = list.get(i);
        }
        return list.get(0);
    }

    /** git's get_prn: the rand(3) recurrence on unsigned 32-bit integers. */
    static long prn(int count) {
        long next = (Integer.toUnsignedLong(count) * 1103515245L + 12345L) & 0xFFFFFFFFL;
        return (next / 65536) % PRN_MODULO;
    }

    /** git's float Newton iteration; floats matter because the rounding decides the index. */
    static int sqrti(int val) {
        if (val == 0) return 0;
        float x = val;
        float d;
        do {
            float y = (x + (float) val / x) / 2;
            d = (y > x) ? y - x : x - y;
            x = y;
        } while (d >= 0.5);
        return (int) x;
    }
}
