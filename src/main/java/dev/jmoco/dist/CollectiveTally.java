package dev.jmoco.dist;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Calls, bytes and seconds per collective operation, as one rank saw them (time in a collective includes the
 * wait for the slowest rank, and for staged backends the copies through host memory, tallied apart).
 */
public final class CollectiveTally {
    /** One operation's totals; {@code stagingSeconds} is the part spent copying between device and host. */
    public record Totals(long calls, long bytes, double seconds, double stagingSeconds) {
        Totals plus(long bytes, double seconds, double staging) {
            return new Totals(calls + 1, this.bytes + bytes, this.seconds + seconds, stagingSeconds + staging);
        }
    }

    private final Map<String, Totals> totals = new LinkedHashMap<>();

    /** Adds one call of {@code operation} that moved {@code bytes} (this rank's contribution) in {@code nanos}. */
    public synchronized void add(String operation, long bytes, long nanos, long stagingNanos) {
        totals.merge(operation, new Totals(1, bytes, nanos / 1e9, stagingNanos / 1e9),
                (a, b) -> a.plus(b.bytes(), b.seconds(), b.stagingSeconds()));
    }

    /** The totals per operation, in the order first called. */
    public synchronized Map<String, Totals> totals() { return Collections.unmodifiableMap(new LinkedHashMap<>(totals)); }

    /** Clears every total (a benchmark's warm-up). */
    public synchronized void reset() { totals.clear(); }

    /**
     * One line per operation, its time per step over {@code steps} steps: "all-reduce: 2 calls/step, 44.7 MB/step,
     * 31.2 ms/step (staging 12.0)".
     */
    public synchronized String perStep(long steps) {
        StringBuilder b = new StringBuilder();
        double s = Math.max(1, steps);
        totals.forEach((op, t) -> b.append(String.format(Locale.ROOT, "%s: %.1f calls/step, %.2f MB/step, %.2f ms/step"
                        + " (of which staging through host memory %.2f)%n", op, t.calls() / s, t.bytes() / s / 1e6,
                t.seconds() / s * 1e3, t.stagingSeconds() / s * 1e3)));
        return b.toString();
    }
}
