package dev.jmoco.backend.conformance;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.PoolShape;
import dev.jmoco.backend.conformance.ConformanceBackends.Target;
import dev.jmoco.backend.conformance.ConformanceBackends.Views;
import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Random;
import java.util.stream.Stream;

import static dev.jmoco.backend.conformance.ConformanceBackends.uniform;
import static dev.jmoco.backend.reference.ReferenceOps.narrow;
import static dev.jmoco.backend.reference.ReferenceOps.widen;


/**
 * Max pooling and global average pooling on each backend under test against {@link ReferenceOps}, on guarded views
 * at non-zero offsets, backward passes adding into pre-filled gradients.
 *
 * <p>Max pool: windows overlapping (stride &lt; window), touching (stride = window), with gaps (stride &gt;
 * window), padded, 1 x 1 planes, and the ResNet stem pool. Inputs are small integers, so windows hold ties
 * (the first maximum must win) and ties between -0 and +0; one case adds NaNs (the last NaN wins)
 * and windows that are all -infinity. y and argmax are selections: exact. The backward pass adds the dy of at
 * most w = ceil(window / stride)^2 windows onto each dx, in float, each partial sum below w + 1 (values in
 * [-1, 1)): abs eps w (w + 1) / 2.
 *
 * <p>Global average pool over hw from 1 to 3000 (one thread per plane up to 256 threads per plane). With X =
 * max |x| and eps = 2^-23: y abs 8 eps sqrt(hw) log2(hw + 1) X / hw + 2 eps |y| (float sum on the device,
 * double in the reference, then a division); backward abs 2 eps (|dx| + |dy| / hw), a division and an add.
 */
class PoolingConformanceTest {
    @RegisterExtension static final ConformanceBackends backends = new ConformanceBackends();

    private static final double EPS = Math.ulp(1f);

    private static final PoolShape[] POOLS = {
            new PoolShape(2, 3, 7, 9, 3, 2, 1),
            new PoolShape(1, 1, 1, 1, 1, 1, 0),
            new PoolShape(2, 5, 8, 8, 2, 2, 0),
            new PoolShape(1, 2, 6, 5, 3, 1, 1),      // overlapping windows
            new PoolShape(3, 4, 11, 13, 3, 3, 0),    // touching windows
            new PoolShape(1, 2, 9, 10, 2, 3, 0),     // gaps between windows
            new PoolShape(1, 3, 5, 5, 5, 1, 2),
            new PoolShape(2, 64, 32, 32, 3, 2, 1)};  // the ResNet stem pool

    static Stream<Arguments> pools() {
        return ConformanceBackends.targets().flatMap(t -> Stream.of(POOLS).map(p -> Arguments.of(t, p)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("pools")
    void maxPoolMatchesReferenceExactly(Target t, PoolShape s) {
        Random r = new Random(s.n() * 7919L + s.c() * 31L + s.h() * 17L + s.w() + s.window() * 3L + s.stride());
        float[] x = new float[(int) s.inputSize()];
        for (int i = 0; i < x.length; i++) x[i] = r.nextInt(7) - 3; // ties in most windows
        for (int i = 0; i < x.length; i += 5) x[i] = r.nextBoolean() ? 0f : -0f;
        checkMaxPool(t, s, x, r);
    }

    /** NaNs take over (the last one wins) and a window of -infinity reports its first in-bounds element. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void maxPoolSpecialValuesMatchReference(Target t) {
        var s = new PoolShape(2, 3, 8, 7, 3, 2, 1);
        Random r = new Random(99);
        float[] x = uniform(r, (int) s.inputSize(), -1, 1);
        for (int i = 0; i < x.length; i++) {
            int k = r.nextInt(12);
            if (k == 0) x[i] = Float.NaN;
            else if (k < 4) x[i] = Float.NEGATIVE_INFINITY;
        }
        for (int i = 0; i < 56; i++) x[i] = Float.NEGATIVE_INFINITY; // the first plane: every window -inf
        checkMaxPool(t, s, x, r);
    }

    private static void checkMaxPool(Target t, PoolShape s, float[] x, Random r) {
        float[] dy = uniform(r, (int) s.outputSize(), -1, 1), dx = uniform(r, (int) s.inputSize(), -1, 1);
        double[] y = new double[(int) s.outputSize()], argmax = new double[y.length];
        ReferenceOps.maxPool(s, x, y, argmax);
        float[][] expected = {narrow(y), narrow(argmax),
                narrow(ReferenceOps.maxPoolBackward(s, dy, narrow(argmax), widen(dx)))};
        float[][] actual = maxPool(t.device(), s, x, dy, dx);
        String on = t + " maxPool " + s + ": ";
        Tolerance.assertClose(on + "y", expected[0], actual[0], 0, 0);
        Tolerance.assertClose(on + "argmax", expected[1], actual[1], 0, 0);
        int perAxis = -Math.floorDiv(-s.window(), s.stride()), w = perAxis * perAxis; // windows over one input
        Tolerance.assertClose(on + "dx", expected[2], actual[2], EPS * w * (w + 1) / 2, 0);
    }

    /** {y, argmax, dx after the backward pass onto dx}. */
    private static float[][] maxPool(Backend backend, PoolShape s, float[] x, float[] dy, float[] dx) {
        try (Views v = new Views(backend)) {
            Buffer y = v.of(new float[(int) s.outputSize()]), argmax = v.of(new float[(int) s.outputSize()]);
            Buffer gx = v.of(dx);
            backend.maxPool(s, v.of(x), y, argmax);
            backend.maxPoolBackward(s, v.of(dy), argmax, gx);
            float[][] out = {v.read(y), v.read(argmax), v.read(gx)};
            v.assertGuardsIntact();
            return out;
        }
    }

    /** n, c, hw. */
    private static final int[][] AVGS = {{1, 1, 1}, {2, 3, 1}, {4, 5, 16}, {3, 7, 49}, {64, 33, 4}, {2, 3, 1031},
            {1, 2, 3000}};

    static Stream<Arguments> avgs() {
        return ConformanceBackends.targets().flatMap(t -> Stream.of(AVGS).map(a -> Arguments.of(t, a[0], a[1], a[2])));
    }

    @ParameterizedTest(name = "{0} n={1} c={2} hw={3}")
    @MethodSource("avgs")
    void globalAvgPoolMatchesReference(Target t, int n, int c, int hw) {
        Random r = new Random(n * 131L + c * 7L + hw);
        float[] x = uniform(r, n * c * hw, -1, 1), dy = uniform(r, n * c, -1, 1);
        float[] dx = uniform(r, n * c * hw, -1, 1);
        for (int i = 0; i < x.length; i++) x[i] += 0.5f; // a non-zero mean, so y is not only noise
        double[] expectedY = ReferenceOps.globalAvgPool(n, c, hw, x, new double[n * c]);
        double[] expectedDx = ReferenceOps.globalAvgPoolBackward(n, c, hw, dy, widen(dx));
        float[][] actual = avgPool(t.device(), n, c, hw, x, dy, dx);
        String on = t + " globalAvgPool [" + n + ", " + c + ", " + hw + "]: ";
        Tolerance.assertClose(on + "y", expectedY, actual[0],
                8 * EPS * Math.sqrt(hw) * (Math.log(hw + 1) / Math.log(2)) * 1.5 / hw, 2 * EPS);
        Tolerance.assertClose(on + "dx", expectedDx, actual[1], 2 * EPS * (1 + 1.0 / hw), 0);
    }

    /** {y, dx after the backward pass onto dx}. */
    private static float[][] avgPool(Backend backend, int n, int c, int hw, float[] x, float[] dy, float[] dx) {
        try (Views v = new Views(backend)) {
            Buffer y = v.of(new float[n * c]), gx = v.of(dx);
            backend.globalAvgPool(n, c, hw, v.of(x), y);
            backend.globalAvgPoolBackward(n, c, hw, v.of(dy), gx);
            float[][] out = {v.read(y), v.read(gx)};
            v.assertGuardsIntact();
            return out;
        }
    }
}
