package dev.jmoco.backend.conformance;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.conformance.ConformanceBackends.Target;
import dev.jmoco.backend.conformance.ConformanceBackends.Views;
import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static dev.jmoco.backend.conformance.InfoNceInputs.accuraciesOneFeature;
import static dev.jmoco.backend.conformance.InfoNceInputs.correlatedKeys;
import static dev.jmoco.backend.conformance.InfoNceInputs.nan;
import static dev.jmoco.backend.conformance.InfoNceInputs.rows;
import static dev.jmoco.backend.conformance.InfoNceInputs.ternary;
import static dev.jmoco.backend.reference.ReferenceOps.narrow;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused losses (InfoNCE, softmax cross-entropy) on each backend under test against {@link ReferenceOps}. Every
 * operand is a guarded view at a non-zero offset ({@link Views}); the gradients start as NaN, since the
 * fused losses <em>write</em> them (a kernel that adds, or skips an element, fails).
 *
 * <p>Accuracies are compared exactly: they are counts of rows, and device and reference compare dot products
 * (InfoNCE) or the given logits (softmax) with the same rank rule; the random data keeps every negative
 * further than rounding from its positive, and ties are exact where they occur (unit rows of one column are
 * +-1; the tie tests use integer data), so a kernel that breaks ties the other way fails.
 *
 * <p>Tolerances. The device computes in float, the reference in double. An InfoNCE logit is a c-term dot
 * product divided by t; its rounding error is about sqrt(c) eps |q| |key| / t, so with L = |q|max |key|max / t
 * (the largest logit) the per-logit error bound is e = 4 sqrt(c) eps L. The loss (a log-sum-exp minus the
 * positive) moves by at most 2e: abs 2e + 1e-6, rel 1e-5. A softmax probability moves by a factor exp(+-2e),
 * so the gradients, of natural scale g = |gradScale| / (n t) times the key length, get abs
 * (4e + 1e-5) g |key|max and rel 1e-4. Softmax cross-entropy starts from given logits: abs 1e-6 + rel 1e-5
 * on the loss (scaled by the largest logit for large ones) and abs 1e-6 |gradScale| / rows + rel 1e-5 on the
 * gradient.
 */
class LossesConformanceTest {
    @RegisterExtension static final ConformanceBackends backends = new ConformanceBackends();

    private static final double EPS = Math.ulp(1f);
    private static final float[] TEMPERATURES = {0.07f, 0.2f, 1f};

    // ---- InfoNCE ----------------------------------------------------------------------------------------

    /** One InfoNCE problem: the inputs and the length bounds that set the tolerances. */
    record InfoNceCase(int n, int c, int kq, float t, float[] q, float[] k, float[] queue, float gradScale,
                       boolean withDk, double qNorm, double keyNorm) {
        @Override public String toString() { return "n=" + n + " c=" + c + " K=" + kq + " t=" + t; }
    }

    /** The outputs of one run: stats, dq and dk (null when omitted). */
    record InfoNceResult(float[] stats, float[] dq, float[] dk) {}

    static Stream<Arguments> infoNceShapes() {
        List<Arguments> cases = new ArrayList<>();
        ConformanceBackends.targets().forEach(t -> {
            int i = 0;
            for (int n : new int[] {1, 3, 64})
                for (int c : new int[] {1, 8, 128})
                    for (int kq : new int[] {1, 5, 1000, 4099}) cases.add(Arguments.of(t, n, c, kq, i++));
        });
        return cases.stream();
    }

    /**
     * Every combination of n, c and K, each twice: MoCo's unit rows (dk requested, gradScale 1) and
     * unnormalised rows of length up to 30 (logits past 10^4 at t = 0.07; dk omitted, gradScale -0.5), with
     * the temperatures taking turns so each shape class meets each t.
     */
    @ParameterizedTest(name = "{0} n={1} c={2} K={3}")
    @MethodSource("infoNceShapes")
    void infoNceMatchesReference(Target t, int n, int c, int kq, int index) {
        Random r = new Random(1000L * index + 7);
        float tUnit = TEMPERATURES[index % 3], tLarge = TEMPERATURES[(index + 1) % 3];
        float[] q = rows(r, n, c, 1, 1), k = rows(r, n, c, 1, 1), queue = rows(r, kq, c, 1, 1);
        check(t, new InfoNceCase(n, c, kq, tUnit, q, k, queue, 1f, true, 1, 1));
        float[] bq = rows(r, n, c, 0.1, 30), bk = rows(r, n, c, 0.1, 30), bqueue = rows(r, kq, c, 0.1, 30);
        check(t, new InfoNceCase(n, c, kq, tLarge, bq, bk, bqueue, -0.5f, false, 30, 30));
    }

    /**
     * MoCo's shape, shortened in n: K = 65536 unit keys, c = 128, t = 0.07, keys correlated with their queries
     * so that the accuracies are neither 0 nor 1 and a rank error would show.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void infoNceAtMocoScale(Target t) {
        int n = 32, c = 128, kq = 65536;
        Random r = new Random(3);
        float[] q = rows(r, n, c, 1, 1), k = correlatedKeys(r, q, n, c), queue = rows(r, kq, c, 1, 1);
        InfoNceResult got = check(t, new InfoNceCase(n, c, kq, 0.07f, q, k, queue, 1f, true, 1, 1));
        assertTrue(got.stats[1] > 0 && got.stats[1] < 1 && got.stats[2] > got.stats[1],
                "accuracies should be non-trivial: " + Arrays.toString(got.stats));
    }

    /** c past the 4096-float accumulator of a work-group: the columns are split into panels. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void infoNceWideRows(Target t) {
        int n = 3, c = 9000, kq = 70;
        Random r = new Random(4);
        check(t, new InfoNceCase(n, c, kq, 0.2f, rows(r, n, c, 1, 1), rows(r, n, c, 1, 1), rows(r, kq, c, 1, 1),
                1f, true, 1, 1));
    }

    /**
     * The rank rule with exact ties: entries in {-1, 0, 1} make every dot product an exact small integer, so
     * many negatives equal their positive, and such a negative must count against it on both backends.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void infoNceTiesCountAgainstThePositive(Target t) {
        for (int c : new int[] {1, 4, 40}) {
            int n = 50, kq = 30;
            Random r = new Random(c);
            float[] q = ternary(r, n * c), k = ternary(r, n * c), queue = ternary(r, kq * c);
            double len = Math.sqrt(c);
            InfoNceResult got = check(t, new InfoNceCase(n, c, kq, 1f, q, k, queue, 1f, true, len, len));
            if (c > 1) continue;
            // by hand: with one feature, q k and q queue_j are products of signs; a positive of 0 ties everything
            assertArrayEquals(accuraciesOneFeature(q, k, queue, n, kq), new float[] {got.stats[1], got.stats[2]});
        }
    }

    /** Runs the case on the device and compares it with the reference; returns the device's result. */
    private static InfoNceResult check(Target t, InfoNceCase x) {
        InfoNceResult want = reference(x), got = run(t.device(), x);
        String what = t + " infoNce " + x;
        double l = x.qNorm * x.keyNorm / x.t, e = 4 * Math.sqrt(x.c) * EPS * l;
        Tolerance.assertClose(what + " loss", new float[] {want.stats[0]}, new float[] {got.stats[0]}, 2 * e + 1e-6,
                1e-5);
        assertEquals(want.stats[1], got.stats[1], what + " acc@1");
        assertEquals(want.stats[2], got.stats[2], what + " acc@5");
        double g = Math.abs(x.gradScale) / (x.n * (double) x.t);
        Tolerance.assertClose(what + " dq", want.dq, got.dq, (4 * e + 1e-5) * g * x.keyNorm, 1e-4);
        if (x.withDk) Tolerance.assertClose(what + " dk", want.dk, got.dk, (4 * e + 1e-5) * g * x.qNorm, 1e-4);
        return got;
    }

    /** {@link ReferenceOps#infoNce} on the case, rounded to float as a backend stores. */
    private static InfoNceResult reference(InfoNceCase x) {
        double[] stats = new double[3], dq = new double[x.n * x.c], dk = x.withDk ? new double[x.n * x.c] : null;
        ReferenceOps.infoNce(x.n, x.c, x.kq, x.t, x.q, x.k, x.queue, x.gradScale, stats, dq, dk);
        return new InfoNceResult(narrow(stats), narrow(dq), dk == null ? null : narrow(dk));
    }

    private static InfoNceResult run(Backend backend, InfoNceCase x) {
        try (Views v = new Views(backend)) {
            Buffer stats = v.at(1, nan(3)), dq = v.at(5, nan(x.n * x.c)), dk = x.withDk ? v.of(nan(x.n * x.c)) : null;
            backend.infoNce(x.n, x.c, x.kq, x.t, v.at(3, x.q), v.of(x.k), v.at(2, x.queue), x.gradScale, stats, dq,
                    dk);
            InfoNceResult result = new InfoNceResult(v.read(stats), v.read(dq), dk == null ? null : v.read(dk));
            v.assertGuardsIntact();
            return result;
        }
    }

    // ---- softmax cross-entropy -----------------------------------------------------------------------------

    static Stream<Arguments> softmaxShapes() {
        List<Arguments> cases = new ArrayList<>();
        ConformanceBackends.targets().forEach(t -> {
            for (int cols : new int[] {1, 2, 3, 7, 64, 255, 256, 257, 1000})
                for (int rows : new int[] {1, 5, 37}) cases.add(Arguments.of(t, rows, cols));
        });
        return cases.stream();
    }

    /**
     * Logits of three kinds per shape: Gaussian (scale 3), small integers (many ties with the label's logit,
     * counted against it) and large values (+-1e4: only a max-subtracted softmax stays finite); the last also
     * computes in place (dlogits aliasing logits).
     */
    @ParameterizedTest(name = "{0} rows={1} cols={2}")
    @MethodSource("softmaxShapes")
    void softmaxCrossEntropyMatchesReference(Target t, int rows, int cols) {
        Random r = new Random(31L * rows + cols);
        int[] labels = new int[rows];
        for (int i = 0; i < rows; i++) labels[i] = r.nextInt(cols);
        float[] gauss = new float[rows * cols], ints = new float[rows * cols], large = new float[rows * cols];
        for (int i = 0; i < gauss.length; i++) {
            gauss[i] = (float) (3 * r.nextGaussian());
            ints[i] = r.nextInt(3);
            large[i] = (float) (2e4 * r.nextDouble() - 1e4);
        }
        checkSoftmax(t, rows, cols, gauss, labels, 1f, false, 1);
        checkSoftmax(t, rows, cols, ints, labels, 0.25f, false, 1);
        checkSoftmax(t, rows, cols, large, labels, 2f, true, 1e4);
    }

    private static void checkSoftmax(Target t, int rows, int cols, float[] logits, int[] labels, float gradScale,
                                     boolean inPlace, double logitScale) {
        double[] stats = new double[3], dlogits = new double[rows * cols];
        ReferenceOps.softmaxCrossEntropy(rows, cols, logits, labels, gradScale, stats, dlogits);
        float[][] want = {narrow(stats), narrow(dlogits)};
        float[][] got = runSoftmax(t.device(), rows, cols, logits, labels, gradScale, inPlace);
        String what = t + " softmaxCrossEntropy rows=" + rows + " cols=" + cols
                + (inPlace ? " in place" : "");
        Tolerance.assertClose(what + " loss", new float[] {want[0][0]}, new float[] {got[0][0]},
                1e-6 * logitScale, 1e-5);
        assertEquals(want[0][1], got[0][1], what + " acc@1");
        assertEquals(want[0][2], got[0][2], what + " acc@5");
        Tolerance.assertClose(what + " dlogits", want[1], got[1], 1e-6 * Math.abs(gradScale) / rows, 1e-5);
    }

    /** [stats, dlogits] of one run. */
    private static float[][] runSoftmax(Backend backend, int rows, int cols, float[] logits, int[] labels,
                                        float gradScale, boolean inPlace) {
        try (Views v = new Views(backend)) {
            Buffer x = v.at(3, logits), stats = v.of(nan(3)), d = inPlace ? x : v.at(1, nan(rows * cols));
            backend.softmaxCrossEntropy(rows, cols, x, labels, gradScale, stats, d);
            float[][] result = {v.read(stats), v.read(d)};
            v.assertGuardsIntact();
            return result;
        }
    }

}
