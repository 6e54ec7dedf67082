package dev.jmoco.backend.cpu;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.PoolShape;
import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * maxPool (values and argmax, ties, padding, NaN), its backward, and global average pooling against plain
 * double loops, on shapes from 1 x 1 planes to sizes that split over a 3-thread backend.
 */
class CpuPoolingTest {
    /** maxPoolBackward adds a few dy into pre-filled dx in float. */
    private static final double ADD_ABS = 1e-6, ADD_REL = 1e-6;
    /** Averages over up to 10^4 values: float partials folded into double stay within a few ulps. */
    private static final double AVG_ABS = 1e-6, AVG_REL = 1e-6;

    /** {@link ReferenceOps#maxPool}'s maxima and argmax, as floats (both exact). */
    private record Pooled(float[] y, float[] argmax) {}

    private static Pooled referenceMaxPool(PoolShape s, float[] x) {
        double[] y = new double[(int) s.outputSize()], argmax = new double[y.length];
        ReferenceOps.maxPool(s, x, y, argmax);
        return new Pooled(ReferenceOps.narrow(y), ReferenceOps.narrow(argmax));
    }

    /** Integer-valued inputs from a small range, so many windows hold tied maxima. */
    private static float[] tiedValues(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = r.nextInt(4) - 3; // -3 .. 0
        return v;
    }

    @ParameterizedTest
    @CsvSource({
            // n, c, h, w, window, stride, pad
            "1, 1, 1, 1, 1, 1, 0",
            "1, 1, 4, 4, 2, 2, 0",
            "2, 3, 7, 5, 3, 2, 1",     // odd sizes, ResNet's stem window
            "2, 2, 6, 6, 3, 1, 1",     // overlapping windows
            "1, 2, 5, 7, 2, 3, 1",     // stride larger than the window: some inputs never seen
            "8, 16, 32, 32, 3, 2, 1"}) // splits over the threads
    void maxPoolMatchesReferenceWithTiesAndPadding(int n, int c, int h, int w, int window, int stride, int pad) {
        PoolShape s = new PoolShape(n, c, h, w, window, stride, pad);
        try (var g = new GuardedBuffers(3)) {
            // All inputs are <= 0: a padding that acted as 0 instead of -infinity would win somewhere.
            float[] x = tiedValues(new Random(h * 7 + w), (int) s.inputSize());
            Buffer y = g.of(new float[(int) s.outputSize()]), argmax = g.of(new float[(int) s.outputSize()]);
            g.backend.maxPool(s, g.of(x), y, argmax);
            Pooled expected = referenceMaxPool(s, x);
            // Max pooling selects and copies: exact.
            assertArrayEquals(expected.y(), g.read(y), "maxPool y");
            assertArrayEquals(expected.argmax(), g.read(argmax), "maxPool argmax");
            g.assertGuardsIntact();
        }
    }

    @Test
    void maxPoolFollowsPyTorchOnNanSignedZerosAndInfinities() {
        PoolShape s = new PoolShape(1, 2, 2, 4, 2, 2, 0);
        float ninf = Float.NEGATIVE_INFINITY, nan = Float.NaN;
        float negativeNan = Float.intBitsToFloat(0xffc00000); // the NaN x86 arithmetic produces
        try (var g = new GuardedBuffers(1)) {
            Buffer x = g.of(new float[] {
                    1, nan, ninf, ninf, 5, negativeNan, ninf, ninf, // plane 0: windows {0, 1, 4, 5} and {2, 3, 6, 7}
                    -0f, 0f, -1, -2, 0f, -0f, -3, -1});              // plane 1
            Buffer y = g.of(new float[4]), argmax = g.of(new float[4]);
            g.backend.maxPool(s, x, y, argmax);
            // Every NaN takes over, whatever its sign, so the last NaN wins; an all -infinity window reports its
            // first cell; -0 and +0 tie, so the first (-0) wins; -1 at cells 2 and 7 tie, cell 2 wins.
            assertArrayEquals(new float[] {5, 2, 0, 2}, g.read(argmax));
            float[] out = g.read(y);
            assertTrue(Float.isNaN(out[0]), "NaN propagates");
            assertArrayEquals(new float[] {ninf, -0f, -1}, new float[] {out[1], out[2], out[3]});
        }
    }

    @ParameterizedTest
    @CsvSource({"2, 3, 7, 5, 3, 2, 1", "2, 2, 6, 6, 3, 1, 1", "1, 2, 5, 7, 2, 3, 1", "8, 16, 32, 32, 3, 1, 1"})
    void maxPoolBackwardAddsIntoTheWinners(int n, int c, int h, int w, int window, int stride, int pad) {
        PoolShape s = new PoolShape(n, c, h, w, window, stride, pad);
        try (var g = new GuardedBuffers(3)) {
            Random r = new Random(n * 13 + h);
            float[] x = tiedValues(r, (int) s.inputSize());
            Pooled forward = referenceMaxPool(s, x);
            float[] argmax = forward.argmax();
            float[] dy = GuardedBuffers.uniform(r, argmax.length, -1, 1);
            float[] dx = GuardedBuffers.uniform(r, (int) s.inputSize(), -1, 1);
            Buffer bdx = g.of(dx);
            g.backend.maxPoolBackward(s, g.of(dy), g.of(argmax), bdx);
            double[] expected = ReferenceOps.maxPoolBackward(s, dy, argmax, ReferenceOps.widen(dx));
            Tolerance.assertClose("maxPoolBackward", expected, g.read(bdx), ADD_ABS, ADD_REL);
            g.assertGuardsIntact();
        }
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 1", "2, 3, 1", "3, 5, 49", "4, 64, 1024", "1, 2, 10000"})
    void globalAvgPoolMatchesReference(int n, int c, int hw) {
        try (var g = new GuardedBuffers(3)) {
            float[] x = GuardedBuffers.uniform(new Random(hw), n * c * hw, -1, 3);
            Buffer y = g.of(new float[n * c]);
            g.backend.globalAvgPool(n, c, hw, g.of(x), y);
            Tolerance.assertClose("globalAvgPool", ReferenceOps.globalAvgPool(n, c, hw, x, new double[n * c]), g.read(y),
                    AVG_ABS, AVG_REL);
            g.assertGuardsIntact();
        }
    }

    @Test
    void globalAvgPoolStaysAccurateOnLongPlanesWithLargeValues() {
        // 5 10^4 values near 1000: a plain float running sum reaches 5 10^7, where one ulp is 4, and drifts by
        // 1e-6 relative or more; the blocked sum stays within about one float ulp of the true mean.
        int hw = 50_000;
        try (var g = new GuardedBuffers(1)) {
            float[] x = GuardedBuffers.uniform(new Random(3), 2 * hw, 999, 1001);
            Buffer y = g.of(new float[2]);
            g.backend.globalAvgPool(1, 2, hw, g.of(x), y);
            Tolerance.assertClose("globalAvgPool near 1000", ReferenceOps.globalAvgPool(1, 2, hw, x, new double[2]),
                    g.read(y), 0, 1e-7);
        }
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 1", "3, 5, 49", "4, 64, 1024"})
    void globalAvgPoolBackwardSpreadsGradientEvenly(int n, int c, int hw) {
        try (var g = new GuardedBuffers(3)) {
            Random r = new Random(hw + 1);
            float[] dy = GuardedBuffers.uniform(r, n * c, -1, 1), dx = GuardedBuffers.uniform(r, n * c * hw, -1, 1);
            Buffer bdx = g.of(dx);
            g.backend.globalAvgPoolBackward(n, c, hw, g.of(dy), bdx);
            double[] expected = ReferenceOps.globalAvgPoolBackward(n, c, hw, dy, ReferenceOps.widen(dx));
            Tolerance.assertClose("globalAvgPoolBackward", expected, g.read(bdx), ADD_ABS, ADD_REL);
            g.assertGuardsIntact();
        }
    }

    @Test
    void badArgumentsAreNamed() {
        var pad = assertThrows(IllegalArgumentException.class, () -> new PoolShape(1, 1, 4, 4, 3, 1, 2));
        assertTrue(pad.getMessage().contains("maxpool: pad"), pad.getMessage());
        try (var g = new GuardedBuffers(1)) {
            PoolShape s = new PoolShape(1, 2, 4, 4, 2, 2, 0);
            var argmax = assertThrows(IllegalArgumentException.class,
                    () -> g.backend.maxPool(s, g.of(new float[32]), g.of(new float[8]), g.of(new float[7])));
            assertEquals("maxPool: argmax has 7 floats, expected 8", argmax.getMessage());
            var avg = assertThrows(IllegalArgumentException.class,
                    () -> g.backend.globalAvgPool(2, 3, 4, g.of(new float[24]), g.of(new float[5])));
            assertEquals("globalAvgPool: y has 5 floats, expected 6", avg.getMessage());
        }
    }
}
