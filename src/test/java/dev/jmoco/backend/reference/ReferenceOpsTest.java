package dev.jmoco.backend.reference;

import dev.jmoco.backend.BatchNormShape;
import dev.jmoco.backend.ConvShape;
import dev.jmoco.backend.PoolShape;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.function.ToDoubleFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The reference itself, without any backend: small cases worked by hand, and every backward op against central
 * finite differences of its forward op. Inputs are multiples of 2^-6 in [-2, 2] and the step is 2^-12, so
 * x +- h is exact in float and the difference quotient errs only by O(h^2) (about 1e-7 of the gradient).
 */
class ReferenceOpsTest {
    private static final float H = 0x1p-12f;
    private static final double ABS = 1e-6, REL = 1e-5;

    /** Values k / 64 in [-2, 2]: exact under +- H. */
    private static float[] grid(Random r, int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) v[i] = (r.nextInt(257) - 128) / 64f;
        return v;
    }

    /** d f / d x[i] for every i, by central differences (x is restored). */
    private static double[] numeric(float[] x, ToDoubleFunction<float[]> f) {
        double[] g = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            float keep = x[i];
            x[i] = keep + H;
            double up = f.applyAsDouble(x);
            x[i] = keep - H;
            double down = f.applyAsDouble(x);
            x[i] = keep;
            g[i] = (up - down) / (2.0 * H);
        }
        return g;
    }

    private static double dot(double[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    // ---- worked by hand -----------------------------------------------------------------------------------

    @Test
    void gemmByHandInEveryTransposeAndScaling() {
        float[] a = {1, 2, 3, 4, 5, 6}, b = {7, 8, 9, 10, 11, 12}; // A [2, 3], B [3, 2]
        // A B = [[58, 64], [139, 154]]; then alpha 2 and beta 0.5 over C = [1, 2, 3, 4].
        assertArrayEquals(new double[] {116.5, 129, 279.5, 310},
                ReferenceOps.gemm(false, false, 2, 2, 3, 2, a, b, 0.5, new double[] {1, 2, 3, 4}));
        float[] at = {1, 4, 2, 5, 3, 6}, bt = {7, 9, 11, 8, 10, 12}; // the same matrices stored transposed
        assertArrayEquals(new double[] {58, 64, 139, 154},
                ReferenceOps.gemm(true, true, 2, 2, 3, 1, at, bt, 0, new double[] {Double.NaN, 0, 0, 0}));
    }

    @Test
    void convolutionByHandWithPaddingAndStride() {
        // x [1, 1, 3, 3] = 1..9, w [1, 1, 2, 2] = all ones, stride 2, pad 1: output 2 x 2 of window sums.
        ConvShape s = new ConvShape(1, 1, 3, 3, 1, 2, 2, 2, 1);
        float[] x = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w = {1, 1, 1, 1};
        assertArrayEquals(new double[] {1, 5, 11, 28}, ReferenceOps.conv2d(s, x, w, new double[4]));
    }

    @Test
    void maxPoolTakesTheFirstMaximumAndTheLastNan() {
        PoolShape s = new PoolShape(1, 1, 2, 2, 2, 1, 0);
        double[] y = new double[1], argmax = new double[1];
        ReferenceOps.maxPool(s, new float[] {3, 5, 5, 1}, y, argmax);
        assertArrayEquals(new double[] {5, 1}, new double[] {y[0], argmax[0]});
        ReferenceOps.maxPool(s, new float[] {Float.NaN, 5, Float.NaN, 1}, y, argmax);
        assertEquals(2, argmax[0]);
        assertEquals(Double.NaN, y[0]);
    }

    @Test
    void batchNormByHandWithTwoGroups() {
        // n = 4, c = 1, hw = 1, groups 2: samples 0, 2 form group 0 ({1, 3}), samples 1, 3 group 1 ({10, 20}).
        BatchNormShape s = new BatchNormShape(4, 1, 1, 2);
        double[] y = new double[4], mean = new double[2], invStd = new double[2];
        double[] runningMean = {0}, runningVar = {1};
        ReferenceOps.batchNormTrain(s, new float[] {1, 10, 3, 20}, new float[] {2}, new float[] {1}, y, mean, invStd,
                runningMean, runningVar, 0.5, 0);
        assertArrayEquals(new double[] {2, 15}, mean);
        assertArrayEquals(new double[] {1, 0.2}, invStd, 1e-15);
        assertArrayEquals(new double[] {-1, -1, 3, 3}, y, 1e-12);
        // Unbiased variances 2 and 50, means 2 and 15: running = 0.5 old + 0.5 average over the groups.
        assertArrayEquals(new double[] {4.25, 13.5}, new double[] {runningMean[0], runningVar[0]}, 1e-12);
    }

    @Test
    void infoNceByHandWithOneNegative() {
        // q = 1, k = 1, one negative of 0, t = 1: logits [1, 0], loss = log(1 + e^-1), rank 0.
        double[] stats = new double[3], dq = new double[1], dk = new double[1];
        ReferenceOps.infoNce(1, 1, 1, 1, new float[] {1}, new float[] {1}, new float[] {0}, 1, stats, dq, dk);
        double p0 = 1 / (1 + Math.exp(-1));
        assertArrayEquals(new double[] {Math.log1p(Math.exp(-1)), 1, 1}, stats, 1e-15);
        assertArrayEquals(new double[] {(p0 - 1) * 1, (p0 - 1) * 1}, new double[] {dq[0], dk[0]}, 1e-15);
    }

    @Test
    void softmaxRanksCountTiesAgainstTheLabel() {
        double[] stats = new double[3], d = new double[3];
        ReferenceOps.softmaxCrossEntropy(1, 3, new float[] {2, 2, 0}, new int[] {0}, 1, stats, d);
        assertEquals(0, stats[1]); // the tie with class 1 costs acc@1
        assertEquals(1, stats[2]);
    }

    @Test
    void statesAndIndexingByHand() {
        double[] target = {1, 2};
        assertArrayEquals(new double[] {0.75 + 0.25 * 5, 1.5 + 0.25 * 6},
                ReferenceOps.ema(0.75, target, new float[] {5, 6}));
        double[] param = {4}, velocity = {1};
        ReferenceOps.sgd(0.1, 0.5, 0.5, param, new float[] {2}, velocity); // d = 4, v = 4.5, p = 3.55
        assertArrayEquals(new double[] {3.55, 4.5}, new double[] {param[0], velocity[0]}, 1e-15);
        double[] queue = {0, 0, 0, 0, 0, 0};
        ReferenceOps.enqueue(queue, 3, 2, new float[] {1, 2, 3, 4}, 2, 2); // rows 2, then 0
        assertArrayEquals(new double[] {3, 4, 0, 0, 1, 2}, queue);
        assertArrayEquals(new double[] {5, 6, 1, 2},
                ReferenceOps.gatherRows(2, new float[] {1, 2, 3, 4, 5, 6}, new int[] {2, 0}, new double[4]));
        assertArrayEquals(new double[] {1 + 10 + 30, 2 + 20 + 40},
                ReferenceOps.scatterRows(2, new float[] {10, 20, 30, 40}, new int[] {0, 0}, new double[] {1, 2},
                        true));
    }

    // ---- backward ops against finite differences of their forward ops -------------------------------------

    @Test
    void convolutionBackwardPassesAreTheForwardsGradients() {
        ConvShape s = new ConvShape(2, 3, 5, 4, 2, 3, 2, 2, 1);
        Random r = new Random(1);
        float[] x = grid(r, (int) s.inputSize()), w = grid(r, (int) s.filterSize()), g = grid(r, (int) s.outputSize());
        ToDoubleFunction<float[]> byX = xs -> dot(ReferenceOps.conv2d(s, xs, w, new double[g.length]), g);
        ToDoubleFunction<float[]> byW = ws -> dot(ReferenceOps.conv2d(s, x, ws, new double[g.length]), g);
        Tolerance.assertClose("conv2dBackwardData", numeric(x, byX),
                ReferenceOps.narrow(ReferenceOps.conv2dBackwardData(s, g, w, new double[x.length])), ABS, REL);
        Tolerance.assertClose("conv2dBackwardFilter", numeric(w, byW),
                ReferenceOps.narrow(ReferenceOps.conv2dBackwardFilter(s, x, g, new double[w.length])), ABS, REL);
    }

    @Test
    void batchNormBackwardIsTheTrainingForwardsGradient() {
        BatchNormShape s = new BatchNormShape(4, 2, 3, 2);
        Random r = new Random(2);
        float[] x = grid(r, (int) s.size()), gamma = grid(r, 2), beta = grid(r, 2), g = grid(r, (int) s.size());
        double[] mean = new double[s.statsSize()], invStd = new double[s.statsSize()];
        ToDoubleFunction<float[]> byX = xs -> dot(train(s, xs, gamma, beta, mean, invStd), g);
        double[] wantDx = numeric(x, byX);
        double[] wantDgamma = numeric(gamma, gs -> dot(train(s, x, gs, beta, mean, invStd), g));
        double[] wantDbeta = numeric(beta, bs -> dot(train(s, x, gamma, bs, mean, invStd), g));
        train(s, x, gamma, beta, mean, invStd); // the saved statistics of the unperturbed input
        double[] dx = new double[x.length], dgamma = new double[2], dbeta = new double[2];
        ReferenceOps.batchNormBackward(s, x, g, gamma, ReferenceOps.narrow(mean), ReferenceOps.narrow(invStd), dx,
                dgamma, dbeta);
        Tolerance.assertClose("dx", wantDx, ReferenceOps.narrow(dx), 1e-5, 1e-4);
        Tolerance.assertClose("dgamma", wantDgamma, ReferenceOps.narrow(dgamma), 1e-5, 1e-4);
        Tolerance.assertClose("dbeta", wantDbeta, ReferenceOps.narrow(dbeta), ABS, REL);
    }

    private static double[] train(BatchNormShape s, float[] x, float[] gamma, float[] beta, double[] mean,
                                  double[] invStd) {
        double[] y = new double[x.length];
        ReferenceOps.batchNormTrain(s, x, gamma, beta, y, mean, invStd, new double[s.c()], new double[s.c()], 0.1,
                1e-5);
        return y;
    }

    @Test
    void rowAndPoolingBackwardPassesAreTheForwardsGradients() {
        Random r = new Random(3);
        int rows = 3, cols = 5;
        float[] x = grid(r, rows * cols), g = grid(r, rows * cols);
        double[] y = new double[x.length], norms = new double[rows];
        ReferenceOps.l2NormalizeRows(rows, cols, x, y, norms);
        ToDoubleFunction<float[]> l2 = xs -> {
            double[] out = new double[xs.length];
            ReferenceOps.l2NormalizeRows(rows, cols, xs, out, new double[rows]);
            return dot(out, g);
        };
        Tolerance.assertClose("l2NormalizeRowsBackward", numeric(x, l2), ReferenceOps.narrow(
                ReferenceOps.l2NormalizeRowsBackward(rows, cols, ReferenceOps.narrow(y), ReferenceOps.narrow(norms),
                        g, new double[x.length])), 1e-5, 1e-4);

        // Distinct inputs 1/64 apart: the step never changes a window's winner.
        PoolShape s = new PoolShape(1, 2, 4, 5, 3, 2, 1);
        float[] px = new float[(int) s.inputSize()], pg = grid(r, (int) s.outputSize());
        for (int i = 0; i < px.length; i++) px[i] = ((i * 37) % px.length - 20) / 64f;
        double[] py = new double[pg.length], argmax = new double[pg.length];
        ReferenceOps.maxPool(s, px, py, argmax);
        ToDoubleFunction<float[]> pool = xs -> {
            double[] out = new double[pg.length];
            ReferenceOps.maxPool(s, xs, out, new double[pg.length]);
            return dot(out, pg);
        };
        Tolerance.assertClose("maxPoolBackward", numeric(px, pool), ReferenceOps.narrow(
                ReferenceOps.maxPoolBackward(s, pg, ReferenceOps.narrow(argmax), new double[px.length])), ABS, REL);

        float[] ag = grid(r, 6);
        ToDoubleFunction<float[]> avg = xs -> dot(ReferenceOps.globalAvgPool(2, 3, 5, xs, new double[6]), ag);
        Tolerance.assertClose("globalAvgPoolBackward", numeric(grid(r, 30), avg), ReferenceOps.narrow(
                ReferenceOps.globalAvgPoolBackward(2, 3, 5, ag, new double[30])), ABS, REL);
    }

    @Test
    void lossGradientsAreTheLossesDerivativesTimesGradScale() {
        Random r = new Random(4);
        int n = 3, c = 4, kq = 6;
        double gradScale = -0.75, t = 0.5;
        float[] q = grid(r, n * c), k = grid(r, n * c), queue = grid(r, kq * c);
        double[] dq = new double[n * c], dk = new double[n * c];
        ReferenceOps.infoNce(n, c, kq, t, q, k, queue, gradScale, new double[3], dq, dk);
        Tolerance.assertClose("infoNce dq", numeric(q, qs -> gradScale * infoNceLoss(n, c, kq, t, qs, k, queue)),
                ReferenceOps.narrow(dq), 1e-5, 1e-4);
        Tolerance.assertClose("infoNce dk", numeric(k, ks -> gradScale * infoNceLoss(n, c, kq, t, q, ks, queue)),
                ReferenceOps.narrow(dk), 1e-5, 1e-4);

        int rows = 3, cols = 5;
        float[] logits = grid(r, rows * cols);
        int[] labels = {4, 0, 2};
        double[] d = new double[rows * cols];
        ReferenceOps.softmaxCrossEntropy(rows, cols, logits, labels, gradScale, new double[3], d);
        ToDoubleFunction<float[]> loss = ls -> {
            double[] stats = new double[3];
            ReferenceOps.softmaxCrossEntropy(rows, cols, ls, labels, 1, stats, new double[rows * cols]);
            return gradScale * stats[0];
        };
        Tolerance.assertClose("softmax dlogits", numeric(logits, loss), ReferenceOps.narrow(d), 1e-5, 1e-4);
    }

    private static double infoNceLoss(int n, int c, int kq, double t, float[] q, float[] k, float[] queue) {
        double[] stats = new double[3];
        ReferenceOps.infoNce(n, c, kq, t, q, k, queue, 1, stats, new double[n * c], null);
        return stats[0];
    }
}
