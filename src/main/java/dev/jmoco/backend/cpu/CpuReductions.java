package dev.jmoco.backend.cpu;

/**
 * Sums over runs of floats, shared by the reducing kernels (pooling, batch norm, row norms).
 *
 * <p>C2 does not vectorise a float sum (reordering the adds would change the result), so a plain loop waits
 * on one add chain: about 1.1 ns per element here. Each sum below keeps 16 independent float partials, which
 * the core pipelines (about 0.17 ns per element, measured on the 2-core EPYC build machine), and folds them
 * into a double every {@link #BLOCK} elements, so the rounding error is that of a float sum of a few hundred
 * terms however long the run.
 */
final class CpuReductions {
    /** Elements per float partial round; 4096 / 16 lanes = 256 terms per partial. */
    private static final int BLOCK = 4096;

    private CpuReductions() {}

    /** Sum of a[from .. from + len). */
    static double sum(float[] a, int from, int len) {
        double total = 0;
        for (int b = 0; b < len; b += BLOCK) total += sumBlock(a, from + b, Math.min(BLOCK, len - b));
        return total;
    }

    /**
     * Sum of a[k] - centre over a[from .. from + len). With a centre near the mean the differences are small
     * (and exact when within a factor 2 of it), so this recovers the mean to far better than a float ulp.
     */
    static double deviations(float[] a, int from, int len, float centre) {
        double total = 0;
        for (int b = 0; b < len; b += BLOCK) total += deviationsBlock(a, from + b, Math.min(BLOCK, len - b), centre);
        return total;
    }

    /** Sum of (a[k] - mean)^2 over a[from .. from + len): the second pass of a two-pass variance. */
    static double squaredDeviations(float[] a, int from, int len, float mean) {
        double total = 0;
        for (int b = 0; b < len; b += BLOCK)
            total += squaredDeviationsBlock(a, from + b, Math.min(BLOCK, len - b), mean);
        return total;
    }

    /**
     * Sum of a[aFrom + k] (b[bFrom + k] - bMean) for k &lt; len: a plain dot product with bMean = 0, and the
     * batch-norm backward's sum(dy (x - mean)) without the cancellation of sum(dy x) - mean sum(dy).
     */
    static double dot(float[] a, int aFrom, float[] b, int bFrom, int len, float bMean) {
        double total = 0;
        for (int o = 0; o < len; o += BLOCK)
            total += dotBlock(a, aFrom + o, b, bFrom + o, Math.min(BLOCK, len - o), bMean);
        return total;
    }

    private static float sumBlock(float[] a, int from, int len) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        float t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, t6 = 0, t7 = 0;
        int k = from, end = from + len;
        for (; k <= end - 16; k += 16) {
            s0 += a[k];     s1 += a[k + 1];  s2 += a[k + 2];  s3 += a[k + 3];
            s4 += a[k + 4]; s5 += a[k + 5];  s6 += a[k + 6];  s7 += a[k + 7];
            t0 += a[k + 8]; t1 += a[k + 9];  t2 += a[k + 10]; t3 += a[k + 11];
            t4 += a[k + 12]; t5 += a[k + 13]; t6 += a[k + 14]; t7 += a[k + 15];
        }
        float s = (((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)))
                + (((t0 + t1) + (t2 + t3)) + ((t4 + t5) + (t6 + t7)));
        for (; k < end; k++) s += a[k];
        return s;
    }

    private static float deviationsBlock(float[] a, int from, int len, float m) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        float t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, t6 = 0, t7 = 0;
        int k = from, end = from + len;
        for (; k <= end - 16; k += 16) {
            s0 += a[k] - m;      s1 += a[k + 1] - m;  s2 += a[k + 2] - m;  s3 += a[k + 3] - m;
            s4 += a[k + 4] - m;  s5 += a[k + 5] - m;  s6 += a[k + 6] - m;  s7 += a[k + 7] - m;
            t0 += a[k + 8] - m;  t1 += a[k + 9] - m;  t2 += a[k + 10] - m; t3 += a[k + 11] - m;
            t4 += a[k + 12] - m; t5 += a[k + 13] - m; t6 += a[k + 14] - m; t7 += a[k + 15] - m;
        }
        float s = (((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)))
                + (((t0 + t1) + (t2 + t3)) + ((t4 + t5) + (t6 + t7)));
        for (; k < end; k++) s += a[k] - m;
        return s;
    }

    private static float squaredDeviationsBlock(float[] a, int from, int len, float m) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        float t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, t6 = 0, t7 = 0;
        int k = from, end = from + len;
        for (; k <= end - 16; k += 16) {
            float d0 = a[k] - m, d1 = a[k + 1] - m, d2 = a[k + 2] - m, d3 = a[k + 3] - m;
            float d4 = a[k + 4] - m, d5 = a[k + 5] - m, d6 = a[k + 6] - m, d7 = a[k + 7] - m;
            float e0 = a[k + 8] - m, e1 = a[k + 9] - m, e2 = a[k + 10] - m, e3 = a[k + 11] - m;
            float e4 = a[k + 12] - m, e5 = a[k + 13] - m, e6 = a[k + 14] - m, e7 = a[k + 15] - m;
            s0 += d0 * d0; s1 += d1 * d1; s2 += d2 * d2; s3 += d3 * d3;
            s4 += d4 * d4; s5 += d5 * d5; s6 += d6 * d6; s7 += d7 * d7;
            t0 += e0 * e0; t1 += e1 * e1; t2 += e2 * e2; t3 += e3 * e3;
            t4 += e4 * e4; t5 += e5 * e5; t6 += e6 * e6; t7 += e7 * e7;
        }
        float s = (((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)))
                + (((t0 + t1) + (t2 + t3)) + ((t4 + t5) + (t6 + t7)));
        for (; k < end; k++) {
            float d = a[k] - m;
            s += d * d;
        }
        return s;
    }

    private static float dotBlock(float[] a, int aFrom, float[] b, int bFrom, int len, float m) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        float t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, t6 = 0, t7 = 0;
        int k = 0;
        for (; k <= len - 16; k += 16) {
            int i = aFrom + k, j = bFrom + k;
            s0 += a[i] * (b[j] - m);          s1 += a[i + 1] * (b[j + 1] - m);
            s2 += a[i + 2] * (b[j + 2] - m);  s3 += a[i + 3] * (b[j + 3] - m);
            s4 += a[i + 4] * (b[j + 4] - m);  s5 += a[i + 5] * (b[j + 5] - m);
            s6 += a[i + 6] * (b[j + 6] - m);  s7 += a[i + 7] * (b[j + 7] - m);
            t0 += a[i + 8] * (b[j + 8] - m);  t1 += a[i + 9] * (b[j + 9] - m);
            t2 += a[i + 10] * (b[j + 10] - m); t3 += a[i + 11] * (b[j + 11] - m);
            t4 += a[i + 12] * (b[j + 12] - m); t5 += a[i + 13] * (b[j + 13] - m);
            t6 += a[i + 14] * (b[j + 14] - m); t7 += a[i + 15] * (b[j + 15] - m);
        }
        float s = (((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)))
                + (((t0 + t1) + (t2 + t3)) + ((t4 + t5) + (t6 + t7)));
        for (; k < len; k++) s += a[aFrom + k] * (b[bFrom + k] - m);
        return s;
    }
}
