package dev.jmoco.bench;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.reference.ReferenceOps;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

import java.util.SplittableRandom;

/**
 * The fused softmax cross-entropy (loss, accuracies and dlogits) of a linear-evaluation batch, [rows, cols] =
 * [256, 10] (CIFAR-10) and [256, 1000] (ImageNet). Small: mostly launch, reduction and read-back of the
 * stats. Bytes counted by {@code bench/compare.py}: 8 per logit (read logits, write dlogits).
 */
public class SoftmaxBench extends BenchBase {
    @Param({"256"}) public int rows;
    @Param({"10", "1000"}) public int cols;

    private int[] labels;
    private Buffer logits, stats, dlogits;

    @Setup
    public void setup() {
        openBackend();
        SplittableRandom r = new SplittableRandom(5);
        labels = new int[rows];
        for (int i = 0; i < rows; i++) labels[i] = r.nextInt(cols);
        float[] hl = randomArray(rows * cols, 4, 1);
        // The loss is a mean of 256 log-sum-exps; dlogits are single softmax terms (about 1 / (rows cols)).
        double[] wantStats = new double[3], wantDlogits = new double[rows * cols];
        ReferenceOps.softmaxCrossEntropy(rows, cols, hl, labels, 1, wantStats, wantDlogits);
        AgainstReference.check("softmaxCrossEntropy", backend, 1e-6, 1e-5, AgainstReference.concat(wantStats, wantDlogits),
                (be, io) -> {
            Buffer s = io.zeros(3), d = io.zeros((long) rows * cols);
            be.softmaxCrossEntropy(rows, cols, io.of(hl), labels, 1f, s, d);
            return io.read(s, d);
        });
        logits = random((long) rows * cols, 4, 1);
        stats = backend.allocate(3);
        dlogits = backend.allocate((long) rows * cols);
    }

    @Benchmark
    public Buffer softmaxCrossEntropy() {
        backend.softmaxCrossEntropy(rows, cols, logits, labels, 1f, stats, dlogits);
        backend.synchronize();
        return dlogits;
    }

    @TearDown
    public void tearDown() {
        for (Buffer b : new Buffer[] {logits, stats, dlogits}) b.close();
        closeBackend();
    }
}
