package dev.jmoco.backend.conformance;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.conformance.ConformanceBackends.Target;
import dev.jmoco.backend.conformance.ConformanceBackends.Views;
import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Random;
import java.util.function.BiFunction;

import static dev.jmoco.backend.conformance.ConformanceBackends.uniform;
import static dev.jmoco.backend.reference.ReferenceOps.narrow;
import static dev.jmoco.backend.reference.ReferenceOps.widen;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * add, addBias, biasBackward, relu, reluBackward and fill on each backend under test against {@link ReferenceOps}.
 * Sizes straddle the 256-wide work-groups (1, 255, 257, 4099) and, for biasBackward, the 32 x 8 work-group and
 * the 128-row chunks of its two-pass reduction (1 row, 128, 129, 5000 rows; 1, 33, 70 columns). Every buffer is
 * a view at a non-zero offset with guarded margins; backward ops start from non-zero gradients (they add).
 * <p>
 * Tolerances: relu, reluBackward, fill and addBias are one exact operation or one rounding per element: exact.
 * add may contract alpha x + beta y into a fused multiply-add: 2 eps relative to |alpha x| + |beta y| (stated
 * as abs 2 eps (|alpha| + |beta|), inputs in [-1, 1)). biasBackward sums rows in float (the reference in double):
 * were it to add row by row, its partial sums of k terms in [-1, 1) would random-walk to about sqrt(k / 3), so
 * its r roundings of at most eps/2 of them would add up to a standard deviation of
 * eps/2 sqrt(sum k/3) = eps r / (2 sqrt 6); abs = r eps is about 5 of those.
 */
class ElementwiseConformanceTest {
    @RegisterExtension static final ConformanceBackends backends = new ConformanceBackends();

    private static final double EPS = Math.ulp(1f);
    private static final int[] SIZES = {1, 255, 257, 4099};

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void add(Target t) {
        float[][] ab = {{1, 1}, {-1.5f, 0.25f}, {0, 2}};
        for (int n : SIZES)
            for (float[] c : ab) {
                Random r = new Random(n);
                float[] x = uniform(r, n, -1, 1), y = uniform(r, n, -1, 1);
                BiFunction<Backend, Boolean, float[]> run = (b, inPlace) -> {
                    try (Views v = new Views(b)) {
                        Buffer bx = v.at(3, x), by = v.at(5, y), out = inPlace ? bx : v.at(1, new float[n]);
                        b.add(c[0], bx, c[1], by, out);
                        float[] res = v.read(out);
                        v.assertGuardsIntact();
                        return res;
                    }
                };
                double abs = 2 * EPS * (Math.abs(c[0]) + Math.abs(c[1]));
                double[] expected = ReferenceOps.add(c[0], x, c[1], y, new double[n]);
                for (boolean inPlace : new boolean[] {false, true})
                    Tolerance.assertClose(t + " add n=" + n + " alpha=" + c[0] + " beta=" + c[1] + " inPlace=" + inPlace,
                            expected, run.apply(t.device(), inPlace), abs, 2 * EPS);
            }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void addBias(Target t) {
        for (int[] s : new int[][] {{1, 1}, {3, 257}, {300, 10}, {64, 64}}) {
            int rows = s[0], cols = s[1];
            Random r = new Random(rows * 31L + cols);
            float[] bias = uniform(r, cols, -1, 1), y = uniform(r, rows * cols, -1, 1);
            BiFunction<Backend, Void, float[]> run = (b, unused) -> {
                try (Views v = new Views(b)) {
                    Buffer by = v.at(2, y);
                    b.addBias(rows, cols, v.of(bias), by);
                    float[] res = v.read(by);
                    v.assertGuardsIntact();
                    return res;
                }
            };
            Tolerance.assertClose(t + " addBias " + rows + "x" + cols,
                    narrow(ReferenceOps.addBias(rows, cols, bias, widen(y))), run.apply(t.device(), null), 0, 0);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void biasBackwardAddsColumnSumsDeterministically(Target t) {
        for (int[] s : new int[][] {{1, 1}, {1, 70}, {128, 33}, {129, 33}, {300, 1}, {5000, 70}}) {
            int rows = s[0], cols = s[1];
            Random r = new Random(rows * 131L + cols);
            float[] dy = uniform(r, rows * cols, -1, 1), dbias = uniform(r, cols, -1, 1);
            BiFunction<Backend, Void, float[]> run = (b, unused) -> {
                try (Views v = new Views(b)) {
                    Buffer bd = v.at(1, dbias);
                    b.biasBackward(rows, cols, v.at(5, dy), bd);
                    float[] res = v.read(bd);
                    v.assertGuardsIntact();
                    return res;
                }
            };
            float[] first = run.apply(t.device(), null);
            Tolerance.assertClose(t + " biasBackward " + rows + "x" + cols,
                    ReferenceOps.biasBackward(rows, cols, dy, widen(dbias)), first, rows * EPS, 2 * EPS);
            assertArrayEquals(first, run.apply(t.device(), null), "biasBackward must give the same bits every run");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void reluKeepsNaNAndZeroesNegativesAndSignedZero(Target t) {
        for (int n : SIZES) {
            float[] x = uniform(new Random(n), n, -1, 1);
            x[0] = Float.NaN;
            if (n > 3) {
                x[1] = -0f;
                x[2] = 0f;
                x[3] = Float.NEGATIVE_INFINITY;
            }
            for (boolean inPlace : new boolean[] {false, true}) {
                BiFunction<Backend, Void, float[]> run = (b, unused) -> {
                    try (Views v = new Views(b)) {
                        Buffer bx = v.at(6, x), by = inPlace ? bx : v.of(new float[n]);
                        b.relu(bx, by);
                        float[] res = v.read(by);
                        v.assertGuardsIntact();
                        return res;
                    }
                };
                Tolerance.assertClose(t + " relu n=" + n + " inPlace=" + inPlace,
                        narrow(ReferenceOps.relu(x, new double[n])), run.apply(t.device(), null), 0, 0);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void reluBackwardAddsWherePositive(Target t) {
        for (int n : SIZES) {
            Random r = new Random(n + 5);
            float[] y = uniform(r, n, -1, 1), dy = uniform(r, n, -1, 1), dx = uniform(r, n, -1, 1);
            for (int i = 0; i < n; i += 3) y[i] = Math.max(y[i], 0); // outputs of a ReLU: zeros included
            BiFunction<Backend, Void, float[]> run = (b, unused) -> {
                try (Views v = new Views(b)) {
                    Buffer bdx = v.at(2, dx);
                    b.reluBackward(v.at(1, y), v.at(3, dy), bdx);
                    float[] res = v.read(bdx);
                    v.assertGuardsIntact();
                    return res;
                }
            };
            Tolerance.assertClose(t + " reluBackward n=" + n, narrow(ReferenceOps.reluBackward(y, dy, widen(dx))),
                    run.apply(t.device(), null), 0, 0);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void fillWritesOnlyItsView(Target t) {
        for (int n : SIZES)
            for (float value : new float[] {0, -2.5f, Float.NaN}) {
                try (Views v = new Views(t.device())) {
                    Buffer b = v.at(5, uniform(new Random(n), n, -1, 1));
                    t.device().fill(b, value);
                    float[] expected = new float[n];
                    java.util.Arrays.fill(expected, value);
                    assertArrayEquals(expected, v.read(b), t + " fill n=" + n + " value=" + value);
                    v.assertGuardsIntact();
                }
            }
    }
}
