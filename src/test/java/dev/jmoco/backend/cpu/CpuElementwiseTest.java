package dev.jmoco.backend.cpu;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * add, addBias, biasBackward, relu and reluBackward against {@link ReferenceOps}. Sizes run from one element to
 * above the parallel grain (2^15 floats) on a 3-thread backend, so both the serial and the split paths run.
 */
class CpuElementwiseTest {
    /** One or two float roundings of O(1) values: a few ulps. */
    private static final double ABS = 1e-6, REL = 1e-6;
    /** biasBackward sums up to 1000 rows in float: error grows with the count. */
    private static final double SUM_ABS = 1e-5, SUM_REL = 1e-5;

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 100_003})
    void addMatchesReference(int size) {
        try (var g = new GuardedBuffers(3)) {
            Random r = new Random(size);
            float[] x = GuardedBuffers.uniform(r, size, -2, 2), y = GuardedBuffers.uniform(r, size, -2, 2);
            Buffer out = g.of(new float[size]);
            g.backend.add(1.5f, g.of(x), -0.25f, g.of(y), out);
            double[] expected = ReferenceOps.add(1.5, x, -0.25, y, new double[size]);
            Tolerance.assertClose("add", expected, g.read(out), ABS, REL);
            g.assertGuardsIntact();
        }
    }

    @Test
    void addMayWriteIntoEitherInput() {
        try (var g = new GuardedBuffers(3)) {
            int size = 70_001;
            Random r = new Random(1);
            float[] x = GuardedBuffers.uniform(r, size, -2, 2), y = GuardedBuffers.uniform(r, size, -2, 2);
            double[] expected = ReferenceOps.add(2, x, 3, y, new double[size]);
            Buffer bx = g.of(x), by = g.of(y);
            g.backend.add(2f, bx, 3f, by, bx);
            Tolerance.assertClose("add into x", expected, g.read(bx), ABS, REL);
            Buffer cx = g.of(x), cy = g.of(y);
            g.backend.add(2f, cx, 3f, cy, cy);
            Tolerance.assertClose("add into y", expected, g.read(cy), ABS, REL);
            Buffer self = g.of(x);
            g.backend.add(0.5f, self, 0.25f, self, self);
            double[] halfAndQuarter = ReferenceOps.add(0.5, x, 0.25, x, new double[size]);
            Tolerance.assertClose("add of x with itself into x", halfAndQuarter, g.read(self), ABS, REL);
            g.assertGuardsIntact();
        }
    }

    @ParameterizedTest
    @CsvSource({"1, 1", "3, 5", "300, 129", "1000, 67"})
    void addBiasAddsToEveryRow(int rows, int cols) {
        try (var g = new GuardedBuffers(3)) {
            Random r = new Random(rows * 31 + cols);
            float[] bias = GuardedBuffers.uniform(r, cols, -1, 1), y = GuardedBuffers.uniform(r, rows * cols, -1, 1);
            Buffer by = g.of(y);
            g.backend.addBias(rows, cols, g.of(bias), by);
            double[] expected = ReferenceOps.addBias(rows, cols, bias, ReferenceOps.widen(y));
            Tolerance.assertClose("addBias", expected, g.read(by), ABS, REL);
            g.assertGuardsIntact();
        }
    }

    @ParameterizedTest
    @CsvSource({"1, 1", "3, 5", "300, 129", "1000, 67", "7, 9000"})
    void biasBackwardAccumulatesColumnSums(int rows, int cols) {
        try (var g = new GuardedBuffers(3)) {
            Random r = new Random(rows * 17 + cols);
            float[] dy = GuardedBuffers.uniform(r, rows * cols, -1, 1), dbias = GuardedBuffers.uniform(r, cols, -1, 1);
            Buffer bdb = g.of(dbias);
            g.backend.biasBackward(rows, cols, g.of(dy), bdb);
            // Backward ops add into what is there.
            double[] expected = ReferenceOps.biasBackward(rows, cols, dy, ReferenceOps.widen(dbias));
            Tolerance.assertClose("biasBackward", expected, g.read(bdb), SUM_ABS, SUM_REL);
            g.assertGuardsIntact();
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 100_003})
    void reluMatchesReferenceInPlaceOrNot(int size) {
        try (var g = new GuardedBuffers(3)) {
            float[] x = GuardedBuffers.uniform(new Random(size), size, -1, 1);
            x[0] = 0f;
            float[] expected = ReferenceOps.narrow(ReferenceOps.relu(x, new double[size]));
            Buffer y = g.of(new float[size]);
            g.backend.relu(g.of(x), y);
            assertArrayEquals(expected, g.read(y), "relu is exact");
            Buffer inPlace = g.of(x);
            g.backend.relu(inPlace, inPlace);
            assertArrayEquals(expected, g.read(inPlace), "relu in place");
            g.assertGuardsIntact();
        }
    }

    @Test
    void reluPropagatesNanAsPyTorchDoes() {
        try (var g = new GuardedBuffers(1)) {
            Buffer x = g.of(new float[] {Float.NaN, -1f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY});
            g.backend.relu(x, x);
            assertArrayEquals(new float[] {Float.NaN, 0f, 0f, Float.POSITIVE_INFINITY}, g.read(x));
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 100_003})
    void reluBackwardAddsWhereOutputIsPositive(int size) {
        try (var g = new GuardedBuffers(3)) {
            Random r = new Random(size + 5);
            float[] x = GuardedBuffers.uniform(r, size, -1, 1);
            float[] y = new float[size];
            for (int i = 0; i < size; i++) y[i] = Math.max(x[i], 0f); // about half exactly 0: no gradient there
            float[] dy = GuardedBuffers.uniform(r, size, -1, 1), dx = GuardedBuffers.uniform(r, size, -1, 1);
            Buffer bdx = g.of(dx);
            g.backend.reluBackward(g.of(y), g.of(dy), bdx);
            double[] expected = ReferenceOps.reluBackward(y, dy, ReferenceOps.widen(dx));
            Tolerance.assertClose("reluBackward", expected, g.read(bdx), ABS, REL);
            g.assertGuardsIntact();
        }
    }

    @Test
    void reluBackwardMasksExactlyWherePyTorchDoes() {
        try (var g = new GuardedBuffers(1)) {
            float inf = Float.POSITIVE_INFINITY, tiny = Float.MIN_VALUE; // the smallest positive subnormal
            Buffer y = g.of(new float[] {-1, 0f, -0f, 2, tiny, inf, Float.NaN});
            Buffer dy = g.of(new float[] {inf, Float.NaN, -inf, 3, 5, 7, 11});
            Buffer dx = g.of(new float[] {1, 1, 1, 1, 1, 1, 1});
            g.backend.reluBackward(y, dy, dx);
            // Where y <= 0 nothing is added, not even an infinite or NaN dy; a NaN y lets dy through, as
            // PyTorch's threshold_backward (y <= 0 ? 0 : dy) does.
            assertArrayEquals(new float[] {1, 1, 1, 4, 6, 8, 12}, g.read(dx));
        }
    }

    @Test
    void badSizesAreNamedByTheBackend() {
        try (var g = new GuardedBuffers(1)) {
            var add = assertThrows(IllegalArgumentException.class,
                    () -> g.backend.add(1, g.of(new float[4]), 1, g.of(new float[3]), g.of(new float[4])));
            assertTrue(add.getMessage().contains("add: y has 3 floats, expected 4"), add.getMessage());
            var bias = assertThrows(IllegalArgumentException.class,
                    () -> g.backend.addBias(2, 3, g.of(new float[2]), g.of(new float[6])));
            assertTrue(bias.getMessage().contains("addBias: bias"), bias.getMessage());
            var relu = assertThrows(IllegalArgumentException.class,
                    () -> g.backend.reluBackward(g.of(new float[4]), g.of(new float[4]), g.of(new float[5])));
            assertTrue(relu.getMessage().contains("reluBackward: dx"), relu.getMessage());
        }
    }
}
