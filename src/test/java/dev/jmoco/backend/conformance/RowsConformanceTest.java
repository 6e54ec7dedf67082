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

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static dev.jmoco.backend.conformance.ConformanceBackends.uniform;
import static dev.jmoco.backend.reference.ReferenceOps.narrow;
import static dev.jmoco.backend.reference.ReferenceOps.widen;


/**
 * Row ops on each backend under test against {@link ReferenceOps}, on guarded views at non-zero offsets.
 *
 * <p>L2 normalisation over cols from 1 to 1000 (work-groups of 1 to 256 threads, rows shorter and longer than
 * one), with a zero row and a row below the 1e-12 norm floor; the backward pass adds into a pre-filled dx.
 * Tolerances, eps = 2^-23: norms rel 32 eps (a sum of squares has no cancellation: its relative error is a
 * few eps per tree level); y abs 32 eps (|y| &lt;= 1); dx abs 32 eps (|dx| + (|dy| + |y . dy|) / max(norm,
 * floor)) + 8 eps sqrt(cols) log2(cols + 1) max|y dy| / max(norm, floor), the error of y . dy scaled.
 *
 * <p>Gather and overwriting scatter: exact (copies). Accumulating scatter adds each of a row's r sources in
 * float, every partial sum at most r + 1 in size (values in [-1, 1)): abs eps r (r + 1) / 2. Index arrays
 * repeat rows; scatter overwrites (the last duplicate wins) or accumulates (duplicates add up, into a
 * pre-filled dst whose other rows must stay untouched); one call has an empty index.
 */
class RowsConformanceTest {
    @RegisterExtension static final ConformanceBackends backends = new ConformanceBackends();

    private static final double EPS = Math.ulp(1f);
    private static final float NORM_FLOOR = 1e-12f;

    /** rows, cols. */
    private static final int[][] NORMS = {{1, 1}, {3, 7}, {5, 128}, {4, 129}, {2, 1000}, {7, 257}, {33, 3}};

    static Stream<Arguments> norms() {
        return ConformanceBackends.targets().flatMap(t -> Stream.of(NORMS).map(a -> Arguments.of(t, a[0], a[1])));
    }

    @ParameterizedTest(name = "{0} rows={1} cols={2}")
    @MethodSource("norms")
    void l2NormalizeMatchesReference(Target t, int rows, int cols) {
        Random r = new Random(rows * 1009L + cols);
        float[] x = uniform(r, rows * cols, -1, 1), dy = uniform(r, rows * cols, -1, 1);
        float[] dx = uniform(r, rows * cols, -1, 1);
        if (rows > 2) {
            for (int j = 0; j < cols; j++) x[j] = 0;                    // row 0: norm 0
            for (int j = 0; j < cols; j++) x[cols + j] *= 1e-14f;       // row 1: norm below the floor
        }
        float[][] expected = l2Reference(rows, cols, x, dy, dx), actual = l2(t.device(), rows, cols, x, dy, dx);
        String on = t + " l2NormalizeRows [" + rows + ", " + cols + "]: ";
        Tolerance.assertClose(on + "norms", expected[1], actual[1], 0, 32 * EPS);
        Tolerance.assertClose(on + "y", expected[0], actual[0], 32 * EPS, 0);
        for (int i = 0; i < rows; i++) { // per row: the floor makes the scale of dx differ by 12 orders
            double d = Math.max(expected[1][i], NORM_FLOOR), yDotDy = 0, most = 0;
            for (int j = 0; j < cols; j++) {
                yDotDy += expected[0][i * cols + j] * (double) dy[i * cols + j];
                most = Math.max(most, Math.abs(expected[0][i * cols + j] * dy[i * cols + j]));
            }
            double abs = 32 * EPS * (1 + (1 + Math.abs(yDotDy)) / d)
                    + 8 * EPS * Math.sqrt(cols) * (Math.log(cols + 1) / Math.log(2)) * most / d;
            Tolerance.assertClose(on + "dx row " + i, slice(expected[2], i * cols, cols),
                    slice(actual[2], i * cols, cols), abs, 0);
        }
    }

    /** {@link #l2}'s outputs by {@link ReferenceOps}, each rounded to float as a backend stores it. */
    private static float[][] l2Reference(int rows, int cols, float[] x, float[] dy, float[] dx) {
        double[] y = new double[rows * cols], norms = new double[rows];
        ReferenceOps.l2NormalizeRows(rows, cols, x, y, norms);
        float[] fy = narrow(y), fnorms = narrow(norms);
        return new float[][] {fy, fnorms, narrow(ReferenceOps.l2NormalizeRowsBackward(rows, cols, fy, fnorms, dy,
                widen(dx)))};
    }

    /** {y, norms, dx after the backward pass onto dx}. */
    private static float[][] l2(Backend backend, int rows, int cols, float[] x, float[] dy, float[] dx) {
        try (Views v = new Views(backend)) {
            Buffer y = v.of(new float[rows * cols]), norms = v.of(new float[rows]), gx = v.of(dx);
            backend.l2NormalizeRows(rows, cols, v.of(x), y, norms);
            backend.l2NormalizeRowsBackward(rows, cols, y, norms, v.of(dy), gx);
            float[][] out = {v.read(y), v.read(norms), v.read(gx)};
            v.assertGuardsIntact();
            return out;
        }
    }

    /** cols, source rows, indices (with repeats). */
    static Stream<Arguments> indexCases() {
        List<Object[]> cases = List.of(
                new Object[] {1, 1, new int[] {0}},
                new Object[] {3, 5, new int[] {4, 0, 4, 2, 4}},
                new Object[] {128, 10, new int[] {9, 3, 3, 0, 7, 3, 1, 9}},
                new Object[] {257, 4, new int[] {2, 2, 2}},
                new Object[] {5, 300, permutationWithRepeats(300, 260)},
                new Object[] {7, 3, new int[0]});
        return ConformanceBackends.targets().flatMap(t -> cases.stream().map(c -> Arguments.of(t, c[0], c[1], c[2])));
    }

    @ParameterizedTest(name = "{0} cols={1} rows={2}")
    @MethodSource("indexCases")
    void gatherAndScatterMatchReference(Target t, int cols, int rows, int[] index) {
        Random r = new Random(cols * 31L + rows);
        float[] table = uniform(r, rows * cols, -1, 1), picked = uniform(r, index.length * cols, -1, 1);
        String on = t + " rows " + cols + " x " + rows + ": ";
        if (index.length > 0)
            Tolerance.assertClose(on + "gather", ReferenceOps.gatherRows(cols, table, index, new double[picked.length]),
                    gather(t.device(), cols, table, index, picked.length), 0, 0);
        int repeats = mostRepeats(index);
        for (boolean accumulate : new boolean[] {false, true})
            Tolerance.assertClose(on + "scatter accumulate=" + accumulate,
                    ReferenceOps.scatterRows(cols, picked, index, widen(table), accumulate),
                    scatter(t.device(), cols, picked, index, table, accumulate),
                    accumulate ? EPS * repeats * (repeats + 1) / 2 : 0, 0);
    }

    private static float[] gather(Backend backend, int cols, float[] src, int[] index, int size) {
        try (Views v = new Views(backend)) {
            Buffer dst = v.of(new float[size]);
            backend.gatherRows(cols, v.of(src), index, dst);
            float[] out = v.read(dst);
            v.assertGuardsIntact();
            return out;
        }
    }

    private static float[] scatter(Backend backend, int cols, float[] src, int[] index, float[] dst,
                                   boolean accumulate) {
        try (Views v = new Views(backend)) {
            Buffer d = v.of(dst);
            backend.scatterRows(cols, v.of(src), index, d, accumulate);
            float[] out = v.read(d);
            v.assertGuardsIntact();
            return out;
        }
    }

    /** How often the most frequent index occurs. */
    private static int mostRepeats(int[] index) {
        Map<Integer, Integer> counts = new HashMap<>();
        int most = 0;
        for (int i : index) most = Math.max(most, counts.merge(i, 1, Integer::sum));
        return most;
    }

    /** count indices below rows, mostly distinct, with a few repeats. */
    private static int[] permutationWithRepeats(int rows, int count) {
        Random r = new Random(5);
        int[] index = new int[count];
        for (int i = 0; i < count; i++) index[i] = i % 10 == 9 ? index[r.nextInt(i)] : (i * 7 + 3) % rows;
        return index;
    }

    private static float[] slice(float[] v, int from, int len) {
        float[] out = new float[len];
        System.arraycopy(v, from, out, 0, len);
        return out;
    }
}
