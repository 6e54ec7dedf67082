package dev.jmoco.backend.cpu;

import dev.jmoco.backend.BatchNormShape;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static dev.jmoco.backend.reference.ReferenceOps.widen;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Batch norm with per-group statistics against {@link ReferenceOps}, which follows the reference MoCo
 * SplitBatchNorm: group g holds samples i with i mod groups = g, each group updates its own copy of the
 * running statistics, and the copies are averaged. The backward takes the kernel's saved mean and invStd, as
 * the op does.
 */
class CpuBatchNormTest {
    private static final float MOMENTUM = 0.1f, EPS = 1e-5f;
    /** Outputs and statistics of O(1) data: float sums of up to 10^4 terms, folded into double. */
    private static final double Y_ABS = 1e-5, Y_REL = 1e-5;
    private static final double STAT_ABS = 1e-6, STAT_REL = 1e-5;
    /** Gradients: sums of dy and dy xhat over up to 10^4 terms feed every dx. */
    private static final double DX_ABS = 1e-5, DX_REL = 1e-4;
    private static final double DPARAM_ABS = 1e-4, DPARAM_REL = 1e-5;

    /** Reference outputs of training-mode batch norm. */
    private record Train(double[] y, double[] mean, double[] invStd, double[] runningMean, double[] runningVar) {
        static Train of(BatchNormShape s, float[] x, float[] gamma, float[] beta, float[] rm, float[] rv) {
            Train t = new Train(new double[x.length], new double[s.statsSize()], new double[s.statsSize()], widen(rm),
                    widen(rv));
            ReferenceOps.batchNormTrain(s, x, gamma, beta, t.y, t.mean, t.invStd, t.runningMean, t.runningVar,
                    MOMENTUM, EPS);
            return t;
        }
    }

    /** Inputs of one case; all parameters random so that no term of a formula can hide behind a 0 or 1. */
    private record Case(BatchNormShape s, float[] x, float[] gamma, float[] beta, float[] rm, float[] rv) {
        static Case random(BatchNormShape s, long seed) {
            Random r = new Random(seed);
            int c = s.c();
            return new Case(s, GuardedBuffers.uniform(r, (int) s.size(), -2, 3),
                    GuardedBuffers.uniform(r, c, 0.5, 1.5), GuardedBuffers.uniform(r, c, -0.5, 0.5),
                    GuardedBuffers.uniform(r, c, -1, 1), GuardedBuffers.uniform(r, c, 0.5, 2));
        }
    }

    /** The kernel's forward outputs, as floats. */
    private record Forward(float[] y, float[] mean, float[] invStd, float[] runningMean, float[] runningVar) {}

    private static Forward train(GuardedBuffers g, Case k) {
        BatchNormShape s = k.s();
        Buffer y = g.of(new float[(int) s.size()]), mean = g.of(new float[s.statsSize()]);
        Buffer invStd = g.of(new float[s.statsSize()]), rm = g.of(k.rm()), rv = g.of(k.rv());
        g.backend.batchNormTrain(s, g.of(k.x()), g.of(k.gamma()), g.of(k.beta()), y, mean, invStd, rm, rv,
                MOMENTUM, EPS);
        return new Forward(g.read(y), g.read(mean), g.read(invStd), g.read(rm), g.read(rv));
    }

    @ParameterizedTest
    @CsvSource({
            // n, c, hw, groups
            "4, 3, 5, 1",
            "8, 5, 7, 2",
            "12, 3, 9, 4",
            "8, 3, 1, 4",      // BN over [n, c] with two samples per group
            "6, 4, 1, 1",      // BN over [n, c]
            "2, 2, 5000, 2",   // planes longer than one summation block
            "8, 32, 256, 2",   // splits over the threads
            "256, 300, 1, 2"}) // [n, c] split over the threads
    void trainMatchesSplitBatchNorm(int n, int c, int hw, int groups) {
        Case k = Case.random(new BatchNormShape(n, c, hw, groups), n * 1000L + c * 10L + hw);
        try (var g = new GuardedBuffers(3)) {
            Forward f = train(g, k);
            Train expected = Train.of(k.s(), k.x(), k.gamma(), k.beta(), k.rm(), k.rv());
            Tolerance.assertClose("y", expected.y(), f.y(), Y_ABS, Y_REL);
            Tolerance.assertClose("mean [groups, c]", expected.mean(), f.mean(), STAT_ABS, STAT_REL);
            Tolerance.assertClose("invStd [groups, c]", expected.invStd(), f.invStd(), STAT_ABS, STAT_REL);
            Tolerance.assertClose("runningMean", expected.runningMean(), f.runningMean(), STAT_ABS, STAT_REL);
            Tolerance.assertClose("runningVar", expected.runningVar(), f.runningVar(), STAT_ABS, STAT_REL);
            g.assertGuardsIntact();
        }
    }

    @ParameterizedTest
    @CsvSource({"2, 16, 4, 64, 2", "0.004, 16, 4, 64, 2", "2, 64, 3, 1, 2"})
    void trainStatisticsSurviveALargeMean(double spread, int n, int c, int hw, int groups) {
        // x = 1000 + spread U(-0.4, 0.6): E[x^2] - E[x]^2 in float would lose the variance to cancellation (one
        // ulp of 10^6 is 0.06). With spread 0.004 the values are 64 float ulps apart, so even rounding a
        // plane's mean to float before taking deviations from it would cost 1e-4 of the variance. y carries
        // the float rounding of the saved mean (half an ulp of 1000, 3e-5) times invStd, hence its absolute
        // tolerance, scaled to the spread.
        Case k = Case.random(new BatchNormShape(n, c, hw, groups), 7);
        float[] x = k.x();
        for (int i = 0; i < x.length; i++) x[i] = (float) (1000 + spread * (x[i] / 5));
        try (var g = new GuardedBuffers(3)) {
            Forward f = train(g, k);
            Train expected = Train.of(k.s(), x, k.gamma(), k.beta(), k.rm(), k.rv());
            Tolerance.assertClose("invStd", expected.invStd(), f.invStd(), 0, 1e-5);
            Tolerance.assertClose("runningVar", expected.runningVar(), f.runningVar(), 1e-12, 1e-5);
            Tolerance.assertClose("mean", expected.mean(), f.mean(), 0, 1e-7);
            Tolerance.assertClose("y", expected.y(), f.y(), 1e-4 * 2 / spread, Y_REL);
        }
    }

    @ParameterizedTest
    @CsvSource({"4, 3, 5, 2", "6, 4, 1, 1", "8, 32, 256, 1", "64, 2048, 1, 1"})
    void evalUsesRunningStatisticsAndIgnoresGroups(int n, int c, int hw, int groups) {
        BatchNormShape s = new BatchNormShape(n, c, hw, groups);
        Case k = Case.random(s, n + c + hw);
        try (var g = new GuardedBuffers(3)) {
            Buffer y = g.of(new float[(int) s.size()]);
            g.backend.batchNormEval(s, g.of(k.x()), g.of(k.gamma()), g.of(k.beta()), g.of(k.rm()), g.of(k.rv()),
                    EPS, y);
            double[] expected = ReferenceOps.batchNormEval(s, k.x(), k.gamma(), k.beta(), k.rm(), k.rv(), EPS,
                    new double[(int) s.size()]);
            Tolerance.assertClose("batchNormEval", expected, g.read(y), Y_ABS, Y_REL);
            g.assertGuardsIntact();
        }
    }

    @ParameterizedTest
    @CsvSource({"4, 3, 5, 1", "8, 5, 7, 2", "12, 3, 9, 4", "8, 3, 1, 4", "6, 4, 1, 1", "2, 2, 5000, 2",
            "8, 32, 256, 2", "256, 300, 1, 2"})
    void backwardMatchesChainRuleAndAccumulates(int n, int c, int hw, int groups) {
        BatchNormShape s = new BatchNormShape(n, c, hw, groups);
        Case k = Case.random(s, n * 7L + c * 3L + hw);
        Random r = new Random(n + hw);
        float[] dy = GuardedBuffers.uniform(r, (int) s.size(), -1, 1);
        float[] dx0 = GuardedBuffers.uniform(r, (int) s.size(), -1, 1);
        float[] dgamma0 = GuardedBuffers.uniform(r, c, -1, 1), dbeta0 = GuardedBuffers.uniform(r, c, -1, 1);
        try (var g = new GuardedBuffers(3)) {
            Forward f = train(g, k);
            Buffer dx = g.of(dx0), dgamma = g.of(dgamma0), dbeta = g.of(dbeta0);
            g.backend.batchNormBackward(s, g.of(k.x()), g.of(dy), g.of(k.gamma()), g.of(f.mean()), g.of(f.invStd()),
                    dx, dgamma, dbeta);

            double[] edx = widen(dx0), edgamma = widen(dgamma0), edbeta = widen(dbeta0);
            ReferenceOps.batchNormBackward(s, k.x(), dy, k.gamma(), f.mean(), f.invStd(), edx, edgamma, edbeta);
            Tolerance.assertClose("dx", edx, g.read(dx), DX_ABS, DX_REL);
            Tolerance.assertClose("dgamma", edgamma, g.read(dgamma), DPARAM_ABS, DPARAM_REL);
            Tolerance.assertClose("dbeta", edbeta, g.read(dbeta), DPARAM_ABS, DPARAM_REL);
            g.assertGuardsIntact();
        }
    }

    @Test
    void oneValuePerGroupAndChannelIsRefusedInTraining() {
        try (var g = new GuardedBuffers(1)) {
            BatchNormShape s = new BatchNormShape(4, 3, 1, 4);
            var e = assertThrows(IllegalArgumentException.class, () -> g.backend.batchNormTrain(s,
                    g.of(new float[12]), g.of(new float[3]), g.of(new float[3]), g.of(new float[12]),
                    g.of(new float[12]), g.of(new float[12]), g.of(new float[3]), g.of(new float[3]), MOMENTUM, EPS));
            String msg = e.getMessage();
            assertTrue(msg.startsWith("batchnorm:") && msg.contains("n = 4") && msg.contains("groups = 4")
                    && msg.contains("hw = 1"), msg);
        }
    }

    @Test
    void badArgumentsAreNamed() {
        var groups = assertThrows(IllegalArgumentException.class, () -> new BatchNormShape(6, 3, 4, 4));
        assertEquals("batchnorm: batch 6 is not divisible by groups 4", groups.getMessage());
        try (var g = new GuardedBuffers(1)) {
            BatchNormShape s = new BatchNormShape(4, 3, 2, 2);
            var mean = assertThrows(IllegalArgumentException.class, () -> g.backend.batchNormTrain(s,
                    g.of(new float[24]), g.of(new float[3]), g.of(new float[3]), g.of(new float[24]),
                    g.of(new float[3]), g.of(new float[6]), g.of(new float[3]), g.of(new float[3]), MOMENTUM, EPS));
            assertEquals("batchNormTrain: mean has 3 floats, expected 6", mean.getMessage());
            var dgamma = assertThrows(IllegalArgumentException.class, () -> g.backend.batchNormBackward(s,
                    g.of(new float[24]), g.of(new float[24]), g.of(new float[3]), g.of(new float[6]),
                    g.of(new float[6]), g.of(new float[24]), g.of(new float[6]), g.of(new float[3])));
            assertEquals("batchNormBackward: dgamma has 6 floats, expected 3", dgamma.getMessage());
        }
    }
}
