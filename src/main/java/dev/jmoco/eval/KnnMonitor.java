package dev.jmoco.eval;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;

import java.util.Iterator;
import java.util.stream.IntStream;

/**
 * The weighted kNN classifier that MoCo's reference CIFAR demo uses to monitor training (its knn_predict, after
 * Wu et al. 2018): a bank of L2-normalised training features with labels; each L2-normalised query takes its k
 * most cosine-similar bank rows, weights each by exp(sim / t), sums the weights per class and predicts the
 * class with the largest sum. Defaults k = 200, t = 0.1.
 *
 * <p>How it runs: the bank lives normalised on the backend. Queries go up in chunks of {@code chunkRows}, are
 * normalised there, and one GEMM gives their [chunk, N] similarity block (never [M, N] at once); the block is
 * downloaded and the top-k of each row is selected on the host, rows in parallel, with a bounded min-heap
 * (O(N log k) per row, no sort of N).
 *
 * <p>Ties: among equal similarities the bank row with the lower index wins a place in the top k; among equal
 * class scores the lower class index wins. (PyTorch's topk and argsort leave both unspecified.)
 *
 * <p>Features are normalised here whatever the caller did (rows of zeros stay zeros and score 0 against
 * everything, as F.normalize does). The monitor owns backend buffers: close it.
 */
public final class KnnMonitor implements AutoCloseable {

    /**
     * k neighbours, temperature t, and the number of query rows per similarity block ({@code chunkRows} 0 =
     * automatic: about 32 MB of similarities per block).
     */
    public record Settings(int k, float temperature, int chunkRows) {
        public Settings {
            if (k <= 0) throw new IllegalArgumentException("knn: k must be > 0, got " + k);
            if (!(temperature > 0) || Float.isInfinite(temperature))
                throw new IllegalArgumentException("knn: temperature must be finite and > 0, got " + temperature);
            if (chunkRows < 0) throw new IllegalArgumentException("knn: chunkRows must be >= 0, got " + chunkRows);
        }

        /** The reference demo's settings: k = 200, t = 0.1. */
        public static Settings defaults() { return new Settings(200, 0.1f, 0); }
    }

    private static final long AUTO_BLOCK_FLOATS = 1L << 23;

    private final Backend backend;
    private final Settings settings;
    private final int rows, dim, classes, chunkRows;
    private final int[] labels;
    private final Buffer bank;
    private boolean closed;

    private KnnMonitor(Backend backend, FeatureSet bank, int classes, Settings settings) {
        bank.requireLabelsBelow(classes, "knn bank");
        if (settings.k() > bank.rows())
            throw new IllegalArgumentException("knn: k = " + settings.k() + " exceeds the bank's " + bank.rows()
                    + " rows");
        this.backend = backend;
        this.settings = settings;
        this.rows = bank.rows();
        this.dim = bank.dim();
        this.classes = classes;
        this.labels = bank.labels().clone();
        this.chunkRows = settings.chunkRows() > 0 ? settings.chunkRows()
                : (int) Math.max(1, Math.min(4096, AUTO_BLOCK_FLOATS / rows));
        this.bank = normalised(backend, bank.features(), rows, dim);
    }

    /** A monitor over the training features {@code bank}, whose labels lie in [0, classes). */
    public static KnnMonitor build(Backend backend, FeatureSet bank, int classes, Settings settings) {
        return new KnnMonitor(backend, bank, classes, settings);
    }

    /** A monitor over the features that {@code extractor} gives for every batch (e.g. the training split). */
    public static KnnMonitor build(Backend backend, Iterator<LabeledBatch> batches, FeatureExtractor extractor,
                                   int classes, Settings settings) {
        return new KnnMonitor(backend, FeatureSet.collect(batches, extractor), classes, settings);
    }

    public Settings settings() { return settings; }
    public int bankRows() { return rows; }
    public int dim() { return dim; }
    public int classes() { return classes; }

    /** Predictions for every batch's features, scored against its labels (e.g. the test split). */
    public KnnResult evaluate(Iterator<LabeledBatch> batches, FeatureExtractor extractor) {
        return evaluate(FeatureSet.collect(batches, extractor));
    }

    /** Predicts every query row and scores the predictions against the queries' labels. */
    public KnnResult evaluate(FeatureSet queries) {
        queries.requireLabelsBelow(classes, "knn queries");
        int[] predicted = predict(queries.features(), queries.rows(), queries.dim());
        int[] correct = new int[classes], total = new int[classes];
        for (int i = 0; i < predicted.length; i++) {
            int y = queries.labels()[i];
            total[y]++;
            if (predicted[i] == y) correct[y]++;
        }
        return new KnnResult(predicted, correct, total);
    }

    /** The predicted class of each of the {@code count} rows of {@code queries} [count, queryDim]. */
    public int[] predict(float[] queries, int count, int queryDim) {
        if (closed) throw new IllegalStateException("knn: monitor is closed");
        if (queryDim != dim)
            throw new IllegalArgumentException("knn: queries have dim " + queryDim + ", the bank " + dim);
        if (count <= 0) throw new IllegalArgumentException("knn: queries has " + count + " rows (empty set?)");
        if (queries.length != (long) count * dim)
            throw new IllegalArgumentException("knn: queries has " + queries.length + " floats, expected "
                    + (long) count * dim + " for [" + count + ", " + dim + "]");
        int chunk = Math.min(chunkRows, count);
        int[] predicted = new int[count];
        float[] block = new float[Math.toIntExact((long) chunk * rows)];
        try (Buffer raw = backend.allocate((long) chunk * dim); Buffer unit = backend.allocate((long) chunk * dim);
             Buffer norms = backend.allocate(chunk); Buffer sim = backend.allocate((long) chunk * rows)) {
            for (int start = 0; start < count; start += chunk) {
                int c = Math.min(chunk, count - start);
                Buffer q = raw.slice(0, (long) c * dim), u = unit.slice(0, (long) c * dim);
                Buffer s = sim.slice(0, (long) c * rows);
                backend.upload(queries, start * dim, q);
                backend.l2NormalizeRows(c, dim, q, u, norms.slice(0, c));
                backend.gemm(false, true, c, rows, dim, 1f, u, bank, 0f, s);
                backend.download(s, block, 0);
                selectRows(block, c, predicted, start);
            }
        }
        return predicted;
    }

    /** Predicts rows [0, c) of {@code block} into predicted[offset...], a few row ranges per core in parallel. */
    private void selectRows(float[] block, int c, int[] predicted, int offset) {
        int tasks = Math.min(c, 4 * Runtime.getRuntime().availableProcessors());
        IntStream.range(0, tasks).parallel().forEach(t -> {
            NeighbourVote vote = new NeighbourVote(settings.k(), classes);
            for (int r = (int) ((long) c * t / tasks), end = (int) ((long) c * (t + 1) / tasks); r < end; r++)
                predicted[offset + r] = vote.predict(block, r * rows, rows, labels, settings.temperature());
        });
    }

    private static Buffer normalised(Backend backend, float[] features, int rows, int dim) {
        Buffer unit = backend.allocate((long) rows * dim);
        try (Buffer raw = backend.allocate((long) rows * dim); Buffer norms = backend.allocate(rows)) {
            backend.upload(features, 0, raw);
            backend.l2NormalizeRows(rows, dim, raw, unit, norms);
        } catch (RuntimeException | Error e) {
            unit.close();
            throw e;
        }
        return unit;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        bank.close();
    }
}
