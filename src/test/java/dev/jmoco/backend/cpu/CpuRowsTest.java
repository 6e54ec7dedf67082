package dev.jmoco.backend.cpu;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Row L2 normalisation (forward and backward, including zero and tiny rows) and gather/scatter by index
 * (duplicates, untouched rows) against {@link ReferenceOps}, on sizes that split over a 3-thread backend.
 */
class CpuRowsTest {
    /** Normalisation: a double-accumulated norm, then one division per element. */
    private static final double NORM_ABS = 1e-7, NORM_REL = 1e-6;
    /** Backward: a dot product over the row feeds every element. */
    private static final double GRAD_ABS = 1e-6, GRAD_REL = 1e-5;
    /** Accumulating scatter: a handful of float adds per element. */
    private static final double SCATTER_ABS = 1e-6, SCATTER_REL = 1e-6;

    /** Random rows, with row 0 all zeros and, when there are 3 rows or more, row 1 tiny (norm under 1e-12). */
    private static float[] rowsWithEdgeCases(Random r, int rows, int cols) {
        float[] x = GuardedBuffers.uniform(r, rows * cols, -2, 2);
        for (int j = 0; j < cols; j++) {
            x[j] = 0;
            if (rows >= 3) x[cols + j] = (float) (1e-16 * (j + 1));
        }
        return x;
    }

    @ParameterizedTest
    @CsvSource({"1, 1", "3, 7", "5, 128", "1000, 128"})
    void l2NormalizeMatchesTorchNormalize(int rows, int cols) {
        try (var g = new GuardedBuffers(3)) {
            float[] x = rowsWithEdgeCases(new Random(rows + cols), rows, cols);
            Buffer y = g.of(new float[rows * cols]), norms = g.of(new float[rows]);
            g.backend.l2NormalizeRows(rows, cols, g.of(x), y, norms);
            double[] ey = new double[x.length], en = new double[rows];
            ReferenceOps.l2NormalizeRows(rows, cols, x, ey, en);
            Tolerance.assertClose("l2NormalizeRows y", ey, g.read(y), NORM_ABS, NORM_REL);
            Tolerance.assertClose("l2NormalizeRows norms", en, g.read(norms), 1e-20, NORM_REL);
            g.assertGuardsIntact();
        }
    }

    @ParameterizedTest
    @CsvSource({"1, 1", "3, 7", "5, 128", "1000, 128"})
    void l2NormalizeBackwardMatchesReferenceAndAccumulates(int rows, int cols) {
        try (var g = new GuardedBuffers(3)) {
            Random r = new Random(rows * 3 + cols);
            float[] x = rowsWithEdgeCases(r, rows, cols);
            Buffer y = g.of(new float[rows * cols]), norms = g.of(new float[rows]);
            g.backend.l2NormalizeRows(rows, cols, g.of(x), y, norms);
            float[] fy = g.read(y), fn = g.read(norms);
            float[] dy = GuardedBuffers.uniform(r, rows * cols, -1, 1);
            float[] dx0 = GuardedBuffers.uniform(r, rows * cols, -1, 1);
            Buffer dx = g.of(dx0);
            g.backend.l2NormalizeRowsBackward(rows, cols, y, norms, g.of(dy), dx);
            double[] expected = ReferenceOps.l2NormalizeRowsBackward(rows, cols, fy, fn, dy, ReferenceOps.widen(dx0));
            // Row 0 has norm 0: its gradient is dy / 1e-12, finite and huge, checked relatively.
            Tolerance.assertClose("l2NormalizeRowsBackward", expected, g.read(dx), GRAD_ABS, GRAD_REL);
            g.assertGuardsIntact();
        }
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 1", "5, 3, 8", "2000, 64, 300"})
    void gatherCopiesNamedRowsIncludingRepeats(int srcRows, int cols, int picks) {
        try (var g = new GuardedBuffers(3)) {
            Random r = new Random(srcRows + picks);
            float[] src = GuardedBuffers.uniform(r, srcRows * cols, -1, 1);
            int[] index = r.ints(picks, 0, srcRows).toArray(); // picks > srcRows forces repeats
            Buffer dst = g.of(new float[picks * cols]);
            g.backend.gatherRows(cols, g.of(src), index, dst);
            float[] expected = ReferenceOps.narrow(ReferenceOps.gatherRows(cols, src, index, new double[picks * cols]));
            assertArrayEquals(expected, g.read(dst));
            g.assertGuardsIntact();
        }
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 1", "9, 5, 4", "3000, 256, 1000"})
    void scatterOverwritesNamedRowsAndLeavesTheRest(int dstRows, int cols, int n) {
        try (var g = new GuardedBuffers(3)) {
            Random r = new Random(dstRows * 5 + n);
            float[] src = GuardedBuffers.uniform(r, n * cols, -1, 1);
            float[] dst0 = GuardedBuffers.uniform(r, dstRows * cols, -1, 1);
            int[] index = r.ints(0, dstRows).distinct().limit(n).toArray();
            Buffer dst = g.of(dst0);
            g.backend.scatterRows(cols, g.of(src), index, dst, false);
            float[] expected = ReferenceOps.narrow(ReferenceOps.scatterRows(cols, src, index, ReferenceOps.widen(dst0),
                    false));
            assertArrayEquals(expected, g.read(dst));
            g.assertGuardsIntact();
        }
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 3", "4, 5, 9", "50, 256, 1000", "7, 40, 2000"})
    void scatterAccumulatesDuplicateIndices(int dstRows, int cols, int n) {
        try (var g = new GuardedBuffers(3)) {
            Random r = new Random(dstRows * 11 + cols);
            float[] src = GuardedBuffers.uniform(r, n * cols, -1, 1);
            float[] dst0 = GuardedBuffers.uniform(r, dstRows * cols, -1, 1);
            int[] index = r.ints(n, 0, dstRows).toArray(); // n > dstRows: every row is hit many times
            Buffer dst = g.of(dst0);
            g.backend.scatterRows(cols, g.of(src), index, dst, true);
            double[] expected = ReferenceOps.scatterRows(cols, src, index, ReferenceOps.widen(dst0), true);
            // Up to a few hundred adds per element here: scale the absolute tolerance with the count.
            Tolerance.assertClose("scatterRows accumulate", expected, g.read(dst), SCATTER_ABS * n / dstRows,
                    SCATTER_REL);
            g.assertGuardsIntact();
        }
    }

    @Test
    void scatterOverwriteWithARepeatedIndexKeepsTheLastRowAsASerialLoopWould() {
        try (var g = new GuardedBuffers(3)) {
            Buffer dst = g.of(new float[] {9, 9, 9, 9});
            g.backend.scatterRows(2, g.of(new float[] {1, 2, 3, 4, 5, 6}), new int[] {1, 0, 1}, dst, false);
            assertArrayEquals(new float[] {3, 4, 5, 6}, g.read(dst));
        }
    }

    @Test
    void badIndicesAndSizesAreNamed() {
        try (var g = new GuardedBuffers(1)) {
            var range = assertThrows(IllegalArgumentException.class,
                    () -> g.backend.gatherRows(2, g.of(new float[10]), new int[] {0, 4, 5}, g.of(new float[6])));
            assertEquals("gatherRows: index[2] = 5 outside [0, 5)", range.getMessage());
            var size = assertThrows(IllegalArgumentException.class,
                    () -> g.backend.scatterRows(2, g.of(new float[5]), new int[] {0, 1}, g.of(new float[10]), true));
            assertEquals("scatterRows: src has 5 floats, expected 4", size.getMessage());
            var norms = assertThrows(IllegalArgumentException.class,
                    () -> g.backend.l2NormalizeRows(3, 2, g.of(new float[6]), g.of(new float[6]), g.of(new float[2])));
            assertEquals("l2NormalizeRows: norms has 2 floats, expected 3", norms.getMessage());
        }
    }
}
