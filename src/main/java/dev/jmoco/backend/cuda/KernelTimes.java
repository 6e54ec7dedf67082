package dev.jmoco.backend.cuda;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * GPU time summed per kernel (or library call) name, and the table {@code --device cuda:profile} prints: the
 * names by total time, with calls, share and mean. Free of JCuda, so the sums and the table are tested without
 * a GPU; {@link CudaProfile} feeds it the times of CUDA events.
 */
final class KernelTimes {
    /** One name's calls and total milliseconds. */
    record Row(String name, long calls, double ms) {}

    private final Map<String, Row> rows = new HashMap<>();

    /** Adds one call of {@code name} that took {@code ms} milliseconds on the GPU. */
    void add(String name, double ms) {
        rows.merge(name, new Row(name, 1, ms), (a, b) -> new Row(name, a.calls + b.calls, a.ms + b.ms));
    }

    /** The rows, most time first (ties by name, so the order is stable). */
    List<Row> rows() {
        List<Row> list = new ArrayList<>(rows.values());
        list.sort(Comparator.comparingDouble(Row::ms).reversed().thenComparing(Row::name));
        return list;
    }

    /** Total GPU milliseconds over every name. */
    double totalMs() { return rows.values().stream().mapToDouble(Row::ms).sum(); }

    void clear() { rows.clear(); }

    /**
     * The table, with per-{@code unit} columns (e.g. unit "step", count 20: calls and ms per step), or totals
     * when {@code count} is 1.
     */
    String table(String unit, long count) {
        StringBuilder b = new StringBuilder(String.format("%-44s %10s %12s %7s %11s%n", "kernel / call",
                "calls/" + unit, "ms/" + unit, "share", "mean us"));
        double total = totalMs();
        for (Row r : rows())
            b.append(String.format("%-44s %10.1f %12.4f %6.1f%% %11.2f%n", r.name(), (double) r.calls() / count,
                    r.ms() / count, total == 0 ? 0 : 100 * r.ms() / total, 1000 * r.ms() / r.calls()));
        b.append(String.format("%-44s %10s %12.4f%n", "total GPU time", "", total / count));
        return b.toString();
    }
}
