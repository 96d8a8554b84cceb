package io.bisectbot.bisect;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * The commits reachable from the original bad and from no original good, read once per job.
 * Index 0 is the newest in rev-list order, as git lists them; later marks only shrink the set, so
 * every later state is a subset described by a {@link BitSet}.
 */
final class CandidateGraph {

    private final List<CommitInfo> commits;
    private final Map<String, Integer> index = new HashMap<>();
    /** Parents inside the graph, in commit order; only the first parent in first-parent mode. */
    private final int[][] parents;

    private final long[] dates;

    CandidateGraph(List<CommitInfo> revListOrder, boolean firstParent) {
        this.commits = List.copyOf(revListOrder);
        for (int i = 0; i < commits.size(); i++) {
            index.put(commits.get(i).sha(), i);
        }
        parents = new int[commits.size()][];
        dates = new long[commits.size()];
        for (int i = 0; i < commits.size(); i++) {
            List<String> ps = commits.get(i).parents();
            if (firstParent && ps.size() > 1) {
                ps = ps.subList(0, 1);
            }
            List<Integer> in = new ArrayList<>();
            for (String p : ps) {
                Integer j = index.get(p);
                if (j != null) in.add(j);
            }
            parents[i] = in.stream().mapToInt(Integer::intValue).toArray();
            dates[i] = commits.get(i).date() == null ? 0 : commits.get(i).date().getEpochSecond();
        }
    }

    int size() {
        return commits.size();
    }

    CommitInfo commit(int i) {
        return commits.get(i);
    }

    String sha(int i) {
        return commits.get(i).sha();
    }

    int indexOf(String sha) {
        Integer i = index.get(sha);
        return i == null ? -1 : i;
    }

    int[] parents(int i) {
        return parents[i];
    }

    BitSet all() {
        BitSet b = new BitSet(size());
        b.set(0, size());
        return b;
    }

    /**
     * The candidates in the order {@code git rev-list bad ^good...} would list them: git pops the
     * newest commit from a date-ordered list where equal dates keep insertion order, and inserts a
     * commit's parents when it pops it. Non-candidates in git's list never change the relative order
     * of candidates, so walking candidates alone gives the same order, also for equal or skewed dates.
     */
    List<Integer> revListOrder(int bad, BitSet candidates) {
        record Entry(int commit, long date, long seq) {}
        PriorityQueue<Entry> queue = new PriorityQueue<>(
                (a, b) -> a.date != b.date ? Long.compare(b.date, a.date) : Long.compare(a.seq, b.seq));
        BitSet seen = new BitSet(size());
        List<Integer> out = new ArrayList<>(candidates.cardinality());
        long seq = 0;
        queue.add(new Entry(bad, dates[bad], seq++));
        seen.set(bad);
        while (!queue.isEmpty()) {
            int c = queue.poll().commit();
            out.add(c);
            for (int p : parents[c]) {
                if (candidates.get(p) && !seen.get(p)) {
                    seen.set(p);
                    queue.add(new Entry(p, dates[p], seq++));
                }
            }
        }
        return out;
    }

    /** Commits of {@code within} reachable from {@code start}, itself included. */
    BitSet ancestors(int start, BitSet within) {
        BitSet seen = new BitSet(size());
        if (!within.get(start)) return seen;
        ArrayDeque<Integer> todo = new ArrayDeque<>();
        todo.push(start);
        seen.set(start);
        while (!todo.isEmpty()) {
            int c = todo.pop();
            for (int p : parents[c]) {
                if (within.get(p) && !seen.get(p)) {
                    seen.set(p);
                    todo.push(p);
                }
            }
        }
        return seen;
    }
}
