package dev.jmoco.eval;

import dev.jmoco.backend.cpu.CpuBackend;
import dev.jmoco.testing.LeakCheckedCpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link KnnMonitor} against a plain double-precision reference (normalise, all similarities, full sort with
 * the documented tie rule, weighted vote). Predictions must be identical, except that queries whose answer
 * hangs on a near tie (k-th and (k+1)-th similarity closer than 1e-5, or best and second class score closer
 * than 1e-6 relative) are skipped: float32 similarities (error about 1e-7 here) may order those either way.
 * Exact ties are tested separately on features whose similarities are exact in float32.
 */
class KnnMonitorTest {
    @RegisterExtension
    static final LeakCheckedCpuBackend CPU = new LeakCheckedCpuBackend();

    /** Clustered random features with arbitrary row norms. */
    static FeatureSet clustered(Random r, int rows, int dim, int classes, double spread) {
        double[][] centers = new double[classes][dim];
        Random c = new Random(99);   // the same centres for bank and queries
        for (double[] row : centers) for (int j = 0; j < dim; j++) row[j] = c.nextGaussian();
        float[] x = new float[rows * dim];
        int[] y = new int[rows];
        for (int i = 0; i < rows; i++) {
            y[i] = r.nextInt(classes);
            double scale = 0.1 + 4 * r.nextDouble();
            for (int j = 0; j < dim; j++)
                x[i * dim + j] = (float) (scale * (centers[y[i]][j] + spread * r.nextGaussian()));
        }
        return new FeatureSet(x, rows, dim, y);
    }

    /** The reference vote for one query, or -1 when its answer hangs on a near tie. */
    static int reference(FeatureSet bank, float[] query, int classes, int k, double t) {
        int n = bank.rows(), d = bank.dim();
        double qn = 0;
        for (float v : query) qn += (double) v * v;
        qn = Math.max(Math.sqrt(qn), 1e-12);
        double[] sim = new double[n];
        for (int i = 0; i < n; i++) {
            double dot = 0, bn = 0;
            for (int j = 0; j < d; j++) {
                double b = bank.features()[i * d + j];
                dot += b * query[j];
                bn += b * b;
            }
            sim[i] = dot / Math.max(Math.sqrt(bn), 1e-12) / qn;
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -sim[i]).thenComparingInt(i -> i));
        if (k < n && sim[order[k - 1]] - sim[order[k]] < 1e-5) return -1;
        double[] score = new double[classes];
        for (int j = 0; j < k; j++) score[bank.labels()[order[j]]] += Math.exp(sim[order[j]] / t);
        int best = 0, second = -1;
        for (int c = 1; c < classes; c++) if (score[c] > score[best]) best = c;
        for (int c = 0; c < classes; c++) if (c != best && (second < 0 || score[c] > score[second])) second = c;
        if (second >= 0 && score[best] - score[second] < 1e-6 * score[best]) return -1;
        return best;
    }

    @ParameterizedTest(name = "n {0} m {1} dim {2} classes {3} k {4} t {5} chunk {6}")
    @CsvSource({"500, 120, 16, 4, 200, 0.1, 0", "500, 120, 16, 4, 200, 0.1, 1", "300, 50, 5, 10, 13, 0.5, 7",
            "64, 33, 3, 2, 64, 0.07, 8", "1000, 64, 32, 7, 1, 0.1, 64"})
    void matchesDoublePrecisionReference(int n, int m, int dim, int classes, int k, double t, int chunk) {
        Random r = new Random(n * 31L + k);
        FeatureSet bank = clustered(r, n, dim, classes, 1.2), queries = clustered(r, m, dim, classes, 1.2);
        try (KnnMonitor knn = KnnMonitor.build(CPU.backend(), bank, classes, new KnnMonitor.Settings(k, (float) t, chunk))) {
            int[] predicted = knn.evaluate(queries).predictions();
            int compared = 0;
            for (int i = 0; i < m; i++) {
                float[] query = Arrays.copyOfRange(queries.features(), i * dim, (i + 1) * dim);
                int expected = reference(bank, query, classes, k, t);
                if (expected < 0) continue;
                assertEquals(expected, predicted[i], "query " + i);
                compared++;
            }
            assertTrue(compared > 0.9 * m, "only " + compared + " of " + m + " queries clear of near ties");
        }
    }

    @Test
    void normalisesFeaturesItself() {
        Random r = new Random(5);
        FeatureSet bank = clustered(r, 400, 12, 3, 1.5), queries = clustered(r, 80, 12, 3, 1.5);
        float[] q = queries.features().clone();
        for (int i = 0; i < q.length; i++) q[i] *= 1 + (i / 12) % 7;  // rescale each query row differently
        var settings = new KnnMonitor.Settings(50, 0.1f, 0);
        try (KnnMonitor knn = KnnMonitor.build(CPU.backend(), bank, 3, settings)) {
            assertArrayEquals(knn.predict(queries.features(), 80, 12), knn.predict(q, 80, 12));
        }
    }

    @Test
    void tiesGoToTheLowerBankRowThenTheLowerClass() {
        // 2-d unit vectors: every similarity is exactly 0 or 1 in float32, whatever the summation order.
        float[] e0 = {1, 0}, e1 = {0, 1};
        FeatureSet bank = rows(new float[][] {e0, e0, e0}, 2, 1, 0);
        try (KnnMonitor knn = KnnMonitor.build(CPU.backend(), bank, 3, new KnnMonitor.Settings(2, 0.1f, 0))) {
            // rows 0 and 1 tie with row 2; the lower indices win, voting 2 and 1 equally; the lower class wins
            assertArrayEquals(new int[] {1}, knn.predict(e0, 1, 2));
        }
        FeatureSet bank2 = rows(new float[][] {e1, e0, e0, e0}, 1, 0, 2, 0);
        try (KnnMonitor knn = KnnMonitor.build(CPU.backend(), bank2, 3, new KnnMonitor.Settings(2, 0.1f, 0))) {
            assertArrayEquals(new int[] {0}, knn.predict(e0, 1, 2)); // rows 1 and 2: classes 0 and 2 tie
        }
        try (KnnMonitor knn = KnnMonitor.build(CPU.backend(), bank2, 3, new KnnMonitor.Settings(3, 0.1f, 0))) {
            assertArrayEquals(new int[] {0}, knn.predict(e0, 1, 2)); // rows 1, 2, 3: class 0 twice
            assertArrayEquals(new int[] {1}, knn.predict(e1, 1, 2)); // row 0 (weight e^10) beats two of e^0
        }
    }

    @Test
    void weightsFollowTheTemperature() {
        // Query (1, 0): one neighbour of class 0 at similarity 1, two of class 1 at 0.8 (vectors (0.8, 0.6)).
        FeatureSet bank = rows(new float[][] {{1, 0}, {0.8f, 0.6f}, {0.8f, 0.6f}}, 0, 1, 1);
        float[] q = {1, 0};
        // t = 0.1: e^10 > 2 e^8 -> class 0; t = 1: e^1 < 2 e^0.8 -> class 1
        try (KnnMonitor sharp = KnnMonitor.build(CPU.backend(), bank, 2, new KnnMonitor.Settings(3, 0.1f, 0));
             KnnMonitor soft = KnnMonitor.build(CPU.backend(), bank, 2, new KnnMonitor.Settings(3, 1f, 0))) {
            assertArrayEquals(new int[] {0}, sharp.predict(q, 1, 2));
            assertArrayEquals(new int[] {1}, soft.predict(q, 1, 2));
        }
    }

    @Test
    void perClassCountsAndAccuracy() {
        float[] e0 = {1, 0}, e1 = {0, 1};
        FeatureSet bank = rows(new float[][] {e0, e1}, 0, 1);
        FeatureSet queries = rows(new float[][] {e0, e0, e1, e1, e0}, 0, 0, 1, 1, 1);
        try (KnnMonitor knn = KnnMonitor.build(CPU.backend(), bank, 3, new KnnMonitor.Settings(1, 0.1f, 0))) {
            KnnResult r = knn.evaluate(queries);
            assertArrayEquals(new int[] {0, 0, 1, 1, 0}, r.predictions());
            assertArrayEquals(new int[] {2, 2, 0}, r.perClassCorrect());
            assertArrayEquals(new int[] {2, 3, 0}, r.perClassTotal());
            assertEquals(0.8, r.accuracy(), 1e-15);
            double[] pc = r.perClassAccuracy();
            assertEquals(1.0, pc[0]);
            assertEquals(2.0 / 3, pc[1], 1e-15);
            assertTrue(Double.isNaN(pc[2]), "a class without queries has no accuracy");
        }
    }

    @Test
    void buildsFromBatchesThroughAnExtractor() {
        Random r = new Random(8);
        FeatureSet pixels = clustered(r, 300, 10, 3, 1.0), test = clustered(r, 40, 10, 3, 1.0);
        // A fixed "encoder": the first 4 pixels, doubled, plus their sum (dim 5).
        FeatureExtractor encoder = (images, count) -> {
            float[] out = new float[count * 5];
            for (int i = 0; i < count; i++)
                for (int j = 0; j < 4; j++) {
                    out[i * 5 + j] = 2 * images[i * 10 + j];
                    out[i * 5 + 4] += images[i * 10 + j];
                }
            return out;
        };
        FeatureSet encoded = new FeatureSet(encoder.extract(pixels.features(), 300), 300, 5, pixels.labels());
        var settings = new KnnMonitor.Settings(20, 0.1f, 0);
        try (KnnMonitor direct = KnnMonitor.build(CPU.backend(), encoded, 3, settings);
             KnnMonitor batched = KnnMonitor.build(CPU.backend(), batches(pixels, 64).iterator(), encoder, 3, settings)) {
            assertEquals(300, batched.bankRows());
            assertEquals(5, batched.dim());
            KnnResult a = direct.evaluate(new FeatureSet(encoder.extract(test.features(), 40), 40, 5, test.labels()));
            KnnResult b = batched.evaluate(batches(test, 7).iterator(), encoder);
            assertArrayEquals(a.predictions(), b.predictions());
            assertTrue(a.accuracy() > 0.5, "clustered data should be mostly right, got " + a.accuracy());
        }
    }

    @Test
    void badInputNamesArgumentAndSizes() {
        FeatureSet bank = rows(new float[][] {{1, 0}, {0, 1}, {1, 1}}, 0, 1, 2);
        assertMessage("k = 4 exceeds the bank's 3 rows",
                () -> KnnMonitor.build(CPU.backend(), bank, 3, new KnnMonitor.Settings(4, 0.1f, 0)));
        assertMessage("knn bank: label[2] = 2 outside [0, 2)",
                () -> KnnMonitor.build(CPU.backend(), bank, 2, new KnnMonitor.Settings(1, 0.1f, 0)));
        assertMessage("k must be > 0, got 0", () -> new KnnMonitor.Settings(0, 0.1f, 0));
        assertMessage("temperature must be finite and > 0, got 0.0", () -> new KnnMonitor.Settings(1, 0f, 0));
        assertMessage("chunkRows must be >= 0, got -1", () -> new KnnMonitor.Settings(1, 0.1f, -1));
        assertMessage("the batch iterator is empty", () -> KnnMonitor.build(CPU.backend(), List.<LabeledBatch>of().iterator(),
                FeatureExtractor.PIXELS, 2, KnnMonitor.Settings.defaults()));
        try (KnnMonitor knn = KnnMonitor.build(CPU.backend(), bank, 3, new KnnMonitor.Settings(2, 0.1f, 0))) {
            assertMessage("queries have dim 3, the bank 2", () -> knn.predict(new float[3], 1, 3));
            assertMessage("queries has 5 floats, expected 4 for [2, 2]", () -> knn.predict(new float[5], 2, 2));
            assertMessage("queries has 0 rows", () -> knn.predict(new float[0], 0, 2));
            assertMessage("knn queries: label[0] = 3 outside [0, 3)",
                    () -> knn.evaluate(rows(new float[][] {{1, 0}}, 3)));
            assertMessage("queries have dim 1, the bank 2",
                    () -> knn.evaluate(new FeatureSet(new float[] {1}, 1, 1, new int[] {0})));
        }
        var closed = KnnMonitor.build(CPU.backend(), bank, 3, new KnnMonitor.Settings(1, 0.1f, 0));
        closed.close();
        closed.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> closed.predict(new float[2], 1, 2));
    }

    static FeatureSet rows(float[][] x, int... labels) {
        int d = x[0].length;
        float[] flat = new float[x.length * d];
        for (int i = 0; i < x.length; i++) System.arraycopy(x[i], 0, flat, i * d, d);
        return new FeatureSet(flat, x.length, d, labels);
    }

    /** The set cut into batches of {@code size} (the last one smaller). */
    static List<LabeledBatch> batches(FeatureSet set, int size) {
        List<LabeledBatch> out = new ArrayList<>();
        int d = set.dim();
        for (int s = 0; s < set.rows(); s += size) {
            int e = Math.min(set.rows(), s + size);
            out.add(new LabeledBatch(Arrays.copyOfRange(set.features(), s * d, e * d),
                    Arrays.copyOfRange(set.labels(), s, e)));
        }
        return out;
    }

    static void assertMessage(String part, Executable call) {
        var e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(part), "message '" + e.getMessage() + "' should contain '" + part + "'");
    }
}
