package dev.jmoco.eval;

import dev.jmoco.autograd.NonFiniteLossException;
import dev.jmoco.backend.cpu.CpuBackend;
import dev.jmoco.optim.ConstantSchedule;
import dev.jmoco.optim.CosineSchedule;
import dev.jmoco.testing.LeakCheckedCpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static dev.jmoco.eval.KnnMonitorTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link LinearProbe}: learns linearly separable data, is deterministic for a seed, reports progress per epoch,
 * and rejects bad input. (The step-by-step comparison with torch.optim.SGD is in {@link EvalGoldenTest}.)
 */
class LinearProbeTest {
    @RegisterExtension
    static final LeakCheckedCpuBackend CPU = new LeakCheckedCpuBackend();

    /**
     * Labels from a random linear teacher; rows whose best class wins by less than 2 (scores spread about 10)
     * are redrawn, so the classes are separable with a margin.
     */
    static FeatureSet separable(Random r, double[][] teacher, int rows) {
        int classes = teacher.length, dim = teacher[0].length;
        float[] x = new float[rows * dim];
        int[] y = new int[rows];
        for (int i = 0; i < rows; i++) {
            while (true) {
                double[] score = new double[classes];
                for (int j = 0; j < dim; j++) {
                    x[i * dim + j] = (float) (3 * r.nextGaussian() + 1);  // off-centre, unnormalised
                    for (int c = 0; c < classes; c++) score[c] += teacher[c][j] * x[i * dim + j];
                }
                int best = 0;
                for (int c = 1; c < classes; c++) if (score[c] > score[best]) best = c;
                double margin = Double.POSITIVE_INFINITY;
                for (int c = 0; c < classes; c++) if (c != best) margin = Math.min(margin, score[best] - score[c]);
                if (margin > 2.0) { y[i] = best; break; }
            }
        }
        return new FeatureSet(x, rows, dim, y);
    }

    static double[][] teacher(Random r, int classes, int dim) {
        double[][] t = new double[classes][dim];
        for (double[] row : t) for (int j = 0; j < dim; j++) row[j] = r.nextGaussian();
        return t;
    }

    private static LinearProbe.Settings quick(int epochs, double lr) {
        return new LinearProbe.Settings(epochs, 32, CosineSchedule.perStep(lr, epochs), 0.9f, 0f, true, 7);
    }

    @Test
    void learnsSeparableDataToNearlyFullAccuracy() {
        Random r = new Random(1);
        double[][] t = teacher(r, 6, 10);
        FeatureSet train = separable(r, t, 1000), test = separable(r, t, 300);
        List<LinearProbe.EpochStats> seen = new ArrayList<>();
        LinearProbe.Result res = LinearProbe.run(CPU.backend(), train, test, 6, quick(30, 0.5), seen::add);
        assertTrue(res.top1() >= 0.99, "top-1 " + res.top1());
        assertTrue(res.top5().orElseThrow() >= res.top1(), "top-5 " + res.top5() + " below top-1 " + res.top1());
        assertEquals(30, seen.size());
        assertEquals(seen, res.history());
        for (int e = 0; e < 30; e++) assertEquals(e, seen.get(e).epoch());
        assertTrue(seen.get(29).loss() < 0.5 * seen.get(0).loss(),
                "loss " + seen.get(0).loss() + " -> " + seen.get(29).loss());
        assertTrue(seen.get(29).trainAccuracy() >= 0.97, "train accuracy " + seen.get(29).trainAccuracy());
        // the lr of the last step of epoch e, from the per-step cosine
        assertEquals(CosineSchedule.perStep(0.5, 30).lr(29, 31, 32), seen.get(29).learningRate(), 1e-12);
    }

    @Test
    void deterministicForASeedAndSeedMatters() {
        Random r = new Random(2);
        double[][] t = teacher(r, 3, 5);
        FeatureSet train = separable(r, t, 100), test = separable(r, t, 50);
        var s = quick(3, 0.1);
        LinearProbe.Result a = LinearProbe.run(CPU.backend(), train, test, 3, s, null);
        LinearProbe.Result b = LinearProbe.run(CPU.backend(), train, test, 3, s, null);
        LinearProbe.Result c = LinearProbe.run(CPU.backend(), train, test, 3, s.withSeed(8), null);
        assertArrayEquals(a.weight(), b.weight());
        assertArrayEquals(a.bias(), b.bias());
        assertEquals(a.history(), b.history());
        assertFalse(java.util.Arrays.equals(a.weight(), c.weight()), "another seed must shuffle and init differently");
        assertTrue(a.top5().isEmpty(), "no top-5 below 5 classes");
    }

    @Test
    void oneStepOfPlainSgdMatchesHandComputedGradient() {
        // 2 rows, 2 features, 2 classes, one full batch, momentum 0: W1 = W0 - lr dL/dW, with zero init
        // dL/dW[c, j] = mean over rows of (softmax_c - [y = c]) x_j, and softmax = 1/2 at zero logits.
        FeatureSet train = KnnMonitorTest.rows(new float[][] {{1, 2}, {3, -1}}, 0, 1);
        var s = new LinearProbe.Settings(1, 2, new ConstantSchedule(0.5), 0f, 0f, false, 0);
        LinearProbe.Result r = LinearProbe.train(CPU.backend(), train, train, 2, s, null, new float[4], new float[2],
                epoch -> new int[] {0, 1});
        double[] expectedW = {
                -0.5 * 0.5 * ((0.5 - 1) * 1 + 0.5 * 3), -0.5 * 0.5 * ((0.5 - 1) * 2 + 0.5 * -1),
                -0.5 * 0.5 * (0.5 * 1 + (0.5 - 1) * 3), -0.5 * 0.5 * (0.5 * 2 + (0.5 - 1) * -1)};
        dev.jmoco.testing.Tolerance.assertClose("weight after one step", expectedW, r.weight(), 1e-7, 1e-6);
        dev.jmoco.testing.Tolerance.assertClose("bias after one step", new double[] {0, 0}, r.bias(), 1e-7, 1e-6);
        assertEquals(Math.log(2), r.history().get(0).loss(), 1e-6);
    }

    @Test
    void badInputNamesArgumentAndSizes() {
        FeatureSet train = KnnMonitorTest.rows(new float[][] {{1, 2}, {3, 4}}, 0, 1);
        FeatureSet wide = KnnMonitorTest.rows(new float[][] {{1, 2, 3}}, 0);
        var s = quick(2, 0.1);
        assertMessage("test features have dim 3, train 2", () -> LinearProbe.run(CPU.backend(), train, wide, 2, s, null));
        assertMessage("linear probe train: label[1] = 1 outside [0, 1)",
                () -> LinearProbe.run(CPU.backend(), train, train, 1, s, null));
        assertMessage("linear probe test: label[0] = 5 outside [0, 2)",
                () -> LinearProbe.run(CPU.backend(), train, KnnMonitorTest.rows(new float[][] {{1, 2}}, 5), 2, s, null));
        assertMessage("epoch 2 outside [0, 2)",   // a schedule shorter than the run fails before training
                () -> LinearProbe.run(CPU.backend(), train, train, 2, s.withEpochs(3), null));
        assertMessage("epochs must be > 0, got 0", () -> s.withEpochs(0));
        assertMessage("batchSize must be > 0, got 0", () -> s.withBatchSize(0));
        assertMessage("batch order of 1 rows for 2 training rows", () -> LinearProbe.train(CPU.backend(), train, train, 2,
                s, null, new float[4], new float[2], epoch -> new int[] {0}));
        assertMessage("2 values for 'fc.weight' [2, 2] of 4", () -> LinearProbe.train(CPU.backend(), train, train, 2,
                s, null, new float[2], new float[2], epoch -> new int[] {0, 1}));
        // a rate that overflows the logits stops with the loss named, not with a silently useless classifier
        FeatureSet huge = KnnMonitorTest.rows(new float[][] {{1e18f, -1e18f}, {-1e18f, 1e18f}}, 0, 1);
        assertThrows(NonFiniteLossException.class, () -> LinearProbe.run(CPU.backend(), huge, huge, 2,
                new LinearProbe.Settings(5, 2, new ConstantSchedule(1e20), 0.9f, 0f, false, 0), null));
    }

    @Test
    void mocoDefaultsAreTheReferenceProtocol() {
        var d = LinearProbe.Settings.mocoDefaults();
        assertEquals(100, d.epochs());
        assertEquals(256, d.batchSize());
        assertEquals(30, d.schedule().lr(59, 0, 1), 1e-12);
        assertEquals(3, d.schedule().lr(60, 0, 1), 1e-12);
        assertEquals(0.3, d.schedule().lr(80, 0, 1), 1e-12);
        assertEquals(0.9f, d.momentum());
        assertEquals(0f, d.weightDecay());
    }
}
