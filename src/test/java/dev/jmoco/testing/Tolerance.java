package dev.jmoco.testing;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Closeness checks with an absolute + relative tolerance: element i passes when
 * |actual - expected| &lt;= abs + rel |expected|. A failure reports the worst element as a multiple of its
 * threshold (after llm.c's validate_result), so a near miss and a wild miss read differently. NaN or
 * infinity in {@code actual} fails unless {@code expected} has the same value there.
 */
public final class Tolerance {
    private Tolerance() {}

    public static void assertClose(String what, double[] expected, float[] actual, double abs, double rel) {
        double[] a = new double[actual.length];
        for (int i = 0; i < a.length; i++) a[i] = actual[i];
        assertClose(what, expected, a, abs, rel);
    }

    public static void assertClose(String what, float[] expected, float[] actual, double abs, double rel) {
        double[] e = new double[expected.length];
        for (int i = 0; i < e.length; i++) e[i] = expected[i];
        assertClose(what, e, actual, abs, rel);
    }

    public static void assertClose(String what, double[] expected, double[] actual, double abs, double rel) {
        if (expected.length != actual.length)
            fail(what + ": expected " + expected.length + " values, got " + actual.length);
        int worst = -1;
        double worstRatio = 0;
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], x = actual[i];
            double ratio;
            if (Double.isNaN(e) || Double.isInfinite(e)) ratio = (Double.compare(e, x) == 0) ? 0 : Double.POSITIVE_INFINITY;
            else if (!Double.isFinite(x)) ratio = Double.POSITIVE_INFINITY;
            else ratio = ratio(Math.abs(x - e), abs + rel * Math.abs(e));
            if (ratio > worstRatio || worst < 0) { worstRatio = ratio; worst = i; }
        }
        if (worstRatio > 1)
            fail(String.format("%s: worst element [%d] expected %.9g, got %.9g; error %.3g is %.2fx its threshold"
                            + " (abs %.1g + rel %.1g)", what, worst, expected[worst], actual[worst],
                    Math.abs(actual[worst] - expected[worst]), worstRatio, abs, rel));
    }

    /** The worst error as a fraction of its threshold (for reports); &gt; 1 means a failure. */
    public static double worstRatio(double[] expected, float[] actual, double abs, double rel) {
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            double r = ratio(Math.abs(actual[i] - expected[i]), abs + rel * Math.abs(expected[i]));
            if (!(r <= worst)) worst = Double.isNaN(r) ? Double.POSITIVE_INFINITY : r;
        }
        return worst;
    }

    /** error / threshold, where a zero threshold means "exact" (0/0 would be NaN and compare as a pass). */
    private static double ratio(double error, double threshold) {
        if (error == 0) return 0;
        return threshold == 0 ? Double.POSITIVE_INFINITY : error / threshold;
    }
}
