package dev.jmoco.train;

import dev.jmoco.trace.MachinePeaks;
import dev.jmoco.trace.Trace;
import dev.jmoco.trace.Work;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where the time of a training step goes: a few warm steps of a {@link Trainer} recorded with a {@link Trace}
 * (slices synchronised with the device), summed per phase and op (the leaves of the slice tree: an op's
 * forward or backward, the EMA, SGD, enqueue, the upload, the loss read-back, the wait for the loader), with
 * each row's rate from its hand-counted work and its fraction of the roofline of {@link MachinePeaks}. What
 * the rows do not cover of the measured step time is the overhead (the tape's bookkeeping, allocation, Java
 * between ops).
 *
 * @param rows      per (phase, op, direction), by time, largest first
 * @param stepMs    mean wall time of a measured step
 * @param peaks     the machine's measured peaks (the roofline)
 * @param lastStep  the slices of the last measured step (for a Chrome trace)
 * @param steps     steps measured
 */
public record StepProfile(List<Row> rows, double stepMs, MachinePeaks peaks, List<Trace.Slice> lastStep, int steps) {

    /**
     * One row: calls and milliseconds per step, and the work per step.
     *
     * @param phase the enclosing phase ("key encoder forward", "query encoder forward", "backward", "loss",
     *              "update", "transfer")
     * @param op    the op or action ("conv2d", "momentum update (EMA)", ...)
     */
    public record Row(String phase, String op, String direction, double calls, double ms, Work work) {
        public double gflops() { return work.flops() / (ms / 1e3) / 1e9; }

        public double gbytes() { return work.bytes() / (ms / 1e3) / 1e9; }

        /** Achieved FLOP/s over what the roofline allows at this row's intensity (NaN without counted work). */
        public double ofRoofline(MachinePeaks p) {
            if (work.bytes() <= 0) return Double.NaN;
            return work.flops() / (ms / 1e3) / p.attainable(work.flops() / work.bytes());
        }
    }

    /** Sum of the rows' milliseconds per step. */
    public double sumMs() { return rows.stream().mapToDouble(Row::ms).sum(); }

    /**
     * Runs {@code warmup} unrecorded steps, then {@code steps} recorded ones, on {@code trainer}.
     *
     * @param synchronize the trainer's device synchronisation (null for synchronous devices)
     */
    public static StepProfile run(Trainer trainer, int warmup, int steps, Runnable synchronize, MachinePeaks peaks) {
        if (steps < 1) throw new IllegalArgumentException("profile: steps must be >= 1, got " + steps);
        for (int i = 0; i < warmup; i++) trainer.step();
        List<Trace.Slice> slices;
        try (Trace trace = Trace.start(synchronize)) {
            for (int i = 0; i < steps; i++)
                try (Trace.Scope step = Trace.scope("step", "step")) {
                    trainer.step();
                }
            slices = trace.slices();
        }
        // Rows are the leaves, except that an op's staging slices are rows of their own and off the op's time.
        boolean[] parent = new boolean[slices.size()];
        long[] staged = new long[slices.size()];
        for (Trace.Slice s : slices) {
            if (s.parent() < 0) continue;
            if (s.category().equals("staging")) staged[s.parent()] += s.duration();
            else parent[s.parent()] = true;
        }
        Map<String, double[]> sums = new LinkedHashMap<>(); // key -> calls, ns, flops, bytes
        Map<String, String[]> names = new LinkedHashMap<>();
        double stepNs = 0;
        int lastStepFrom = 0;
        for (int i = 0; i < slices.size(); i++) {
            Trace.Slice s = slices.get(i);
            if (s.category().equals("step")) {
                stepNs += s.duration();
                if (i + 1 < slices.size()) lastStepFrom = i + 1; // slices end children first: the next step follows
                continue;
            }
            if (parent[i]) continue;
            String kind = s.category().equals("staging") && s.parent() >= 0 ? slices.get(s.parent()).category()
                    : s.category();
            String phase = phase(slices, i), direction = kind.equals("backward") ? "backward"
                    : kind.equals("forward") ? "forward" : "";
            String key = phase + "\u0000" + s.name() + "\u0000" + direction;
            names.putIfAbsent(key, new String[] {phase, s.name(), direction});
            double[] acc = sums.computeIfAbsent(key, k -> new double[4]);
            acc[0]++;
            acc[1] += s.duration() - staged[i];
            acc[2] += s.work().flops();
            acc[3] += s.work().bytes();
        }
        List<Row> rows = new ArrayList<>();
        for (Map.Entry<String, double[]> e : sums.entrySet()) {
            double[] a = e.getValue();
            String[] n = names.get(e.getKey());
            rows.add(new Row(n[0], n[1], n[2], a[0] / steps, a[1] / steps / 1e6, new Work(a[2] / steps, a[3] / steps)));
        }
        rows.sort((x, y) -> Double.compare(y.ms(), x.ms()));
        return new StepProfile(rows, stepNs / steps / 1e6, peaks, slices.subList(lastStepFrom, slices.size()), steps);
    }

    /** The phase of slice i: the nearest enclosing slice of category phase, else its own kind. */
    private static String phase(List<Trace.Slice> slices, int i) {
        for (int p = slices.get(i).parent(); p >= 0; p = slices.get(p).parent())
            if (slices.get(p).category().equals("phase")) return slices.get(p).name();
        String category = slices.get(i).category();
        return category.equals("update") || category.equals("transfer") ? category : "loss";
    }

    /** The report: header lines, the table, the sum against the step time, and the overhead. */
    public String format(String title) {
        StringBuilder b = new StringBuilder();
        b.append(title).append('\n');
        b.append(String.format(Locale.ROOT, "machine: %s; load average %.2f%n", peaks.describe(), loadAverage()));
        b.append(String.format(Locale.ROOT, "%d measured steps, %.2f ms per step%n%n", steps, stepMs));
        b.append(String.format(Locale.ROOT, "%-22s %-28s %-8s %6s %9s %6s %8s %7s %7s%n", "phase", "op", "pass",
                "calls", "ms/step", "share", "GFLOP/s", "GB/s", "roof"));
        for (Row r : rows) {
            boolean counted = r.work().bytes() > 0;
            b.append(String.format(Locale.ROOT, "%-22s %-28s %-8s %6.1f %9.3f %5.1f%% %8s %7s %7s%n", r.phase(),
                    r.op(), r.direction(), r.calls(), r.ms(), 100 * r.ms() / stepMs,
                    counted && r.work().flops() > r.work().bytes() / 4 ? String.format(Locale.ROOT, "%.1f", r.gflops()) : "",
                    counted ? String.format(Locale.ROOT, "%.1f", r.gbytes()) : "",
                    counted ? String.format(Locale.ROOT, "%.0f%%", 100 * r.ofRoofline(peaks)) : ""));
        }
        double sum = sumMs();
        b.append(String.format(Locale.ROOT, "%nops above: %.2f ms of the %.2f ms step (%.1f%%); overhead (tape "
                + "bookkeeping, allocation, Java between ops): %.2f ms (%.1f%%)%n", sum, stepMs, 100 * sum / stepMs,
                stepMs - sum, 100 * (stepMs - sum) / stepMs));
        return b.toString();
    }

    /** The one-minute load average, or NaN where the OS does not say. */
    static double loadAverage() {
        double l = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        return l < 0 ? Double.NaN : l;
    }

    /** Writes the last measured step as a Chrome trace. */
    public void writeTrace(java.nio.file.Path file) throws IOException {
        dev.jmoco.trace.ChromeTrace.write(file, lastStep);
    }
}
