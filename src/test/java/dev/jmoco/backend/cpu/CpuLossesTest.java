package dev.jmoco.backend.cpu;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.conformance.InfoNceInputs;
import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused losses against {@link ReferenceOps}. Accuracies are compared exactly, as floats (they are
 * counts of rows; the data is random enough that no positive ties a negative within float rounding).
 *
 * <p>Tolerances: InfoNCE logits carry the float error of a c-term dot product, about 1e-6 for unit rows, which
 * division by t amplifies; so the loss gets abs 2e-6 / t (+ rel 1e-5) and the gradients, whose natural scale
 * is gradScale / (n t), get abs 2e-5 of that scale (+ rel 1e-4). Softmax cross-entropy works on given logits:
 * abs 1e-6 + rel 1e-5 on the loss, abs 1e-7 x gradScale / rows + rel 1e-5 on the gradient.
 */
class CpuLossesTest {

    // ---- InfoNCE --------------------------------------------------------------------------------------

    /**
     * Which implementation of the per-block kernels runs: the backend's own choice (the Vector API kernels when
     * jdk.incubator.vector is present, as under Maven), or the plain Java + GEMM ones.
     */
    enum Kernels { DEFAULT, SCALAR }

    /** {@link ReferenceOps#infoNce}'s outputs. */
    record InfoNceReference(double[] stats, double[] dq, double[] dk) {
        static InfoNceReference of(int n, int c, int kq, float t, float[] q, float[] k, float[] queue,
                                   float gradScale) {
            InfoNceReference r = new InfoNceReference(new double[3], new double[n * c], new double[n * c]);
            ReferenceOps.infoNce(n, c, kq, t, q, k, queue, gradScale, r.stats, r.dq, r.dk);
            return r;
        }
    }

    /** Rows of random direction; unit length when {@code maxNorm} is 0, else length uniform in (0, maxNorm]. */
    static float[] rows(Random random, int n, int c, double maxNorm) {
        return InfoNceInputs.rows(random, n, c, () -> maxNorm == 0 ? 1 : maxNorm * (1 - random.nextDouble()));
    }

    /**
     * Keys correlated with their queries by a row-dependent amount (unit rows): k_i = normalize(s_i q_i + u_i),
     * s_i uniform in [0, 1], so positives range from chance level to clearly above every negative and the
     * accuracies are neither 0 nor 1.
     */
    static float[] keysFor(Random random, float[] q, int n, int c) {
        float[] u = rows(random, n, c, 0), k = new float[n * c];
        for (int i = 0; i < n; i++) {
            double s = random.nextDouble(), norm = 0;
            for (int j = 0; j < c; j++) {
                double v = s * q[i * c + j] + u[i * c + j];
                k[i * c + j] = (float) v;
                norm += v * v;
            }
            for (int j = 0; j < c; j++) k[i * c + j] = (float) (k[i * c + j] / Math.sqrt(norm));
        }
        return k;
    }

    /** Runs InfoNCE on guarded views and checks it against the reference; returns the reference stats. */
    private static double[] checkInfoNce(Kernels kernels, int threads, int n, int c, int kq, float t, float[] q,
                                         float[] k, float[] queue, float gradScale, boolean withDk) {
        InfoNceReference ref = InfoNceReference.of(n, c, kq, t, q, k, queue, gradScale);
        try (GuardedBuffers g = new GuardedBuffers(threads)) {
            Buffer bq = g.of(q), bk = g.of(k), bqueue = g.of(queue), stats = g.of(new float[3]);
            Buffer dq = g.of(new float[n * c]), dk = withDk ? g.of(new float[n * c]) : null;
            if (kernels == Kernels.DEFAULT) {
                g.backend.infoNce(n, c, kq, t, bq, bk, bqueue, gradScale, stats, dq, dk);
            } else {
                CpuInfoNce scalar = new CpuInfoNce(g.backend, g.backend.parallel,
                        new CpuInfoNceScalarKernels(g.backend, new CpuGemm(g.backend.parallel)));
                scalar.run(n, c, kq, t, (CpuBuffer) bq, (CpuBuffer) bk, (CpuBuffer) bqueue, gradScale,
                        (CpuBuffer) stats, (CpuBuffer) dq, (CpuBuffer) dk);
            }
            float[] s = g.read(stats);
            String what = kernels + " n=" + n + " c=" + c + " K=" + kq + " t=" + t;
            Tolerance.assertClose(what + " loss", new double[] {ref.stats[0]}, new float[] {s[0]}, 2e-6 / t, 1e-5);
            assertEquals((float) ref.stats[1], s[1], what + " acc@1");
            assertEquals((float) ref.stats[2], s[2], what + " acc@5");
            double scale = Math.abs(gradScale) / ((double) n * t);
            Tolerance.assertClose(what + " dq", ref.dq, g.read(dq), 2e-5 * scale, 1e-4);
            if (withDk) Tolerance.assertClose(what + " dk", ref.dk, g.read(dk), 2e-5 * scale, 1e-4);
            g.assertGuardsIntact();
        }
        return ref.stats;
    }

    @ParameterizedTest(name = "{0} threads={1} n={2} c={3} K={4}")
    @CsvSource({
            // tails everywhere: rows below one vector, c not a multiple of 4, K below one block of 4 keys
            "DEFAULT, 1, 1, 1, 1", "DEFAULT, 2, 7, 5, 13", "SCALAR, 2, 7, 5, 13",
            // several blocks of keys with a partial last block, rows over several vectors, odd thread counts
            "DEFAULT, 2, 37, 19, 600", "SCALAR, 3, 37, 19, 600", "DEFAULT, 3, 70, 16, 257",
            "DEFAULT, 2, 300, 12, 1030", "SCALAR, 2, 129, 8, 300",
            // the benchmark's panel width (128 rows per thread: full 4 x 4-vector tiles) with a tail of c
            "DEFAULT, 2, 256, 33, 700"})
    void infoNceMatchesReferenceOnSmallShapes(Kernels kernels, int threads, int n, int c, int kq) {
        Random random = new Random(n * 31L + c * 7L + kq);
        float[] q = rows(random, n, c, 3), k = rows(random, n, c, 3), queue = rows(random, kq, c, 3);
        checkInfoNce(kernels, threads, n, c, kq, 0.2f, q, k, queue, 1f, true);
    }

    /** MoCo's setting: K = 65536 unit keys, t = 0.07; accuracies strictly between 0 and 1. */
    @ParameterizedTest
    @ValueSource(strings = {"DEFAULT", "SCALAR"})
    void infoNceMatchesReferenceAtMocoScale(Kernels kernels) {
        int n = 24, c = 128, kq = 65536;
        Random random = new Random(7);
        float[] q = rows(random, n, c, 0), k = keysFor(random, q, n, c), queue = rows(random, kq, c, 0);
        double[] stats = checkInfoNce(kernels, 2, n, c, kq, 0.07f, q, k, queue, 1f, true);
        assertTrue(stats[1] > 0 && stats[1] < 1 && stats[2] > stats[1] && stats[2] < 1,
                "data should give non-trivial accuracies, got acc@1 " + stats[1] + ", acc@5 " + stats[2]);
    }

    /**
     * t = 0.01 puts unit-row logits in [-100, 100]: exp(100) overflows float, so only a max-subtracted
     * (online) log-sum-exp survives. Rows of norm up to 30 at t = 0.07 push logits past 10^4.
     */
    @ParameterizedTest
    @CsvSource({"DEFAULT, 0.01, 0", "SCALAR, 0.01, 0", "DEFAULT, 0.07, 30"})
    void infoNceIsStableForLargeLogits(Kernels kernels, float t, double maxNorm) {
        int n = 16, c = 64, kq = 4096;
        Random random = new Random(11);
        float[] q = rows(random, n, c, maxNorm), k = keysFor(random, rows(random, n, c, 0), n, c);
        float[] queue = rows(random, kq, c, maxNorm);
        checkInfoNce(kernels, 2, n, c, kq, t, q, k, queue, 1f, true);
    }

    /** gradScale scales both gradients (and nothing else); dk may be omitted without changing dq. */
    @Test
    void infoNceGradScaleAndOptionalDk() {
        int n = 20, c = 32, kq = 500;
        Random random = new Random(5);
        float[] q = rows(random, n, c, 0), k = keysFor(random, q, n, c), queue = rows(random, kq, c, 0);
        checkInfoNce(Kernels.DEFAULT, 2, n, c, kq, 0.07f, q, k, queue, 3.5f, true);
        checkInfoNce(Kernels.DEFAULT, 2, n, c, kq, 0.07f, q, k, queue, -0.25f, false);
        checkInfoNce(Kernels.SCALAR, 2, n, c, kq, 0.07f, q, k, queue, 3.5f, false);
    }

    /** The rank rule: a negative equal to the positive counts against it (acc@1 needs a strict win). */
    @Test
    void infoNceTiesCountAgainstThePositive() {
        int n = 1, c = 2;
        float[] q = {1, 0}, k = {0.5f, 0};
        // negatives with dots 0.5 (tie), 0.9, 0.1, 0.1: rank 2
        float[] queue = {0.5f, 1, 0.9f, 0, 0.1f, 0, 0.1f, 3};
        double[] stats = checkInfoNce(Kernels.DEFAULT, 1, n, c, 4, 0.5f, q, k, queue, 1f, true);
        assertArrayEquals(new double[] {0, 1}, new double[] {stats[1], stats[2]});
    }

    /** Scratch comes from the pool: a second call with the same shapes creates no new arrays and leaks none. */
    @Test
    void lossesAllocateNothingWhenWarm() {
        int n = 40, c = 16, kq = 700, cols = 10;
        Random random = new Random(2);
        try (GuardedBuffers g = new GuardedBuffers(2)) {
            Buffer q = g.of(rows(random, n, c, 0)), k = g.of(rows(random, n, c, 0));
            Buffer queue = g.of(rows(random, kq, c, 0));
            Buffer stats = g.of(new float[3]), dq = g.of(new float[n * c]), logits = g.of(new float[n * cols]);
            int[] labels = random.ints(n, 0, cols).toArray();
            g.backend.infoNce(n, c, kq, 0.07f, q, k, queue, 1f, stats, dq, null);
            g.backend.softmaxCrossEntropy(n, cols, logits, labels, 1f, stats, logits);
            var warm = g.backend.poolStats();
            g.backend.infoNce(n, c, kq, 0.07f, q, k, queue, 1f, stats, dq, null);
            g.backend.softmaxCrossEntropy(n, cols, logits, labels, 1f, stats, logits);
            assertEquals(warm.created(), g.backend.poolStats().created(), "arrays created by a warm call");
            assertEquals(warm.live(), g.backend.poolStats().live(), "scratch not returned to the pool");
        }
    }

    // ---- softmax cross-entropy ------------------------------------------------------------------------

    /** {@link ReferenceOps#softmaxCrossEntropy}'s stats [loss, acc@1, acc@5], then dlogits. */
    private static double[][] softmaxReference(int rows, int cols, float[] x, int[] labels, float gradScale) {
        double[][] out = {new double[3], new double[rows * cols]};
        ReferenceOps.softmaxCrossEntropy(rows, cols, x, labels, gradScale, out[0], out[1]);
        return out;
    }

    private static void checkSoftmax(int threads, int rows, int cols, float[] x, int[] labels, float gradScale,
                                     boolean alias) {
        double[][] ref = softmaxReference(rows, cols, x, labels, gradScale);
        try (GuardedBuffers g = new GuardedBuffers(threads)) {
            Buffer logits = g.of(x), stats = g.of(new float[3]);
            Buffer d = alias ? logits : g.of(new float[rows * cols]);
            g.backend.softmaxCrossEntropy(rows, cols, logits, labels, gradScale, stats, d);
            float[] s = g.read(stats);
            String what = "rows=" + rows + " cols=" + cols + (alias ? " aliased" : "");
            Tolerance.assertClose(what + " loss", new double[] {ref[0][0]}, new float[] {s[0]}, 1e-6, 1e-5);
            assertEquals((float) ref[0][1], s[1], what + " acc@1");
            assertEquals((float) ref[0][2], s[2], what + " acc@5");
            Tolerance.assertClose(what + " dlogits", ref[1], g.read(d), 1e-7 * Math.abs(gradScale) / rows, 1e-5);
            g.assertGuardsIntact();
        }
    }

    @ParameterizedTest(name = "rows={0} cols={1} alias={2}")
    @CsvSource({"1, 1, false", "5, 1, true", "3, 2, false", "37, 10, false", "37, 10, true", "64, 7, false",
            "9, 1000, false", "9, 1000, true", "700, 33, false"})
    void softmaxCrossEntropyMatchesReference(int rows, int cols, boolean alias) {
        Random random = new Random(rows * 1000L + cols);
        float[] x = GuardedBuffers.uniform(random, rows * cols, -8, 8);
        int[] labels = random.ints(rows, 0, cols).toArray();
        checkSoftmax(2, rows, cols, x, labels, 1.5f, alias);
    }

    /** Logits around 10^4 overflow exp unless the max is subtracted first. */
    @Test
    void softmaxCrossEntropyIsStableForLargeLogits() {
        Random random = new Random(3);
        int rows = 20, cols = 50;
        float[] x = GuardedBuffers.uniform(random, rows * cols, 9990, 10010);
        checkSoftmax(2, rows, cols, x, random.ints(rows, 0, cols).toArray(), 1f, true);
    }

    /** Hand-made ranks: 0 (strict win), 1 (a tie counts against), 4 (acc@5 only), 5 (neither). */
    @Test
    void softmaxCrossEntropyAccuracyRule() {
        float[] x = {
                5, 1, 2, 3, 4, 0,    // label 0 strictly largest: rank 0
                5, 5, 2, 3, 4, 0,    // label 1 ties the max: rank 1
                9, 8, 7, 6, 1, 0,    // label 4: four larger: rank 4
                9, 8, 7, 6, 5, 0};   // label 5: five larger: rank 5
        int[] labels = {0, 1, 4, 5};
        checkSoftmax(1, 4, 6, x, labels, 1f, false);
        double[][] ref = softmaxReference(4, 6, x, labels, 1f);
        assertArrayEquals(new double[] {0.25, 0.75}, new double[] {ref[0][1], ref[0][2]});
    }
}
