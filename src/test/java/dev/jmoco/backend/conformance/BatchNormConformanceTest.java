package dev.jmoco.backend.conformance;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.BatchNormShape;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.conformance.ConformanceBackends.Target;
import dev.jmoco.backend.conformance.ConformanceBackends.Views;
import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Random;
import java.util.stream.Stream;

import static dev.jmoco.backend.conformance.ConformanceBackends.uniform;
import static dev.jmoco.backend.reference.ReferenceOps.narrow;
import static dev.jmoco.backend.reference.ReferenceOps.widen;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Batch norm (train, eval, backward) on each backend under test against {@link ReferenceOps}. Shapes cover both
 * kernel layouts of the OpenCL backend and their edges: planes (hw &gt; 1) with odd hw, a single sample, and
 * slices long enough to be cut into several chunks (several work-groups per channel: [6, 3, 1155] gives 4
 * chunks, [16, 2, 1024] with 2 groups 4 chunks); rows (hw = 1) with c below, above and not a multiple of the
 * 32-channel tile, 2 values per slice, and 500 rows per group (8 chunks); groups 1, 2 and 8. Every buffer is a
 * view at a non-zero offset with guarded margins; gradients and running statistics start non-zero (backward
 * adds, training updates in place). One case has |mean| = 1000 against a spread of 1, where E[x^2] - E[x]^2
 * in float would lose most digits of the variance.
 *
 * <p>Tolerances, with eps = 2^-23 and X = max |x|: the float sum of N terms bounded by T on the device errs by
 * at most about {@code sumTol(N, T) = 8 eps sqrt(N) log2(N + 1) T} (partial sums per thread, then a tree; the
 * reference sums in double). Mean: abs sumTol(m, X) / m + 4 eps X. invStd and running variance: rel 32 eps (the
 * deviations are exact to rounding, so the variance is relatively accurate). y (train and eval): abs 16 eps
 * (X |gamma invStd| + |y|), the rounding of x - mean scaled, plus the mean's error scaled. Backward: dgamma and
 * dbeta abs sumTol(n hw, |dy| max|xhat|) + 4 eps |prefill|; dx abs 32 eps (|gamma invStd| (|dy| + max|xhat| |dy|)
 * + |prefill|).
 */
class BatchNormConformanceTest {
    @RegisterExtension static final ConformanceBackends backends = new ConformanceBackends();

    private static final double EPS = Math.ulp(1f);
    private static final float MOMENTUM = 0.1f, BN_EPS = 1e-5f;

    /** One shape and the centre of x (spread 1 around it). */
    record Case(int n, int c, int hw, int groups, float centre) {
        BatchNormShape shape() { return new BatchNormShape(n, c, hw, groups); }
        @Override public String toString() { return "n=" + n + " c=" + c + " hw=" + hw + " groups=" + groups
                + " centre=" + centre; }
    }

    private static final Case[] CASES = {
            new Case(4, 3, 35, 1, 0f),
            new Case(8, 5, 9, 2, 0.5f),
            new Case(1, 2, 3, 1, 0f),
            new Case(8, 1, 2, 8, -2f),
            new Case(24, 7, 49, 8, 0f),
            new Case(6, 3, 1155, 1, 1f),       // planes, 4 chunks per slice
            new Case(16, 2, 1024, 2, 0f),      // planes, groups, 4 chunks per slice
            new Case(8, 4, 16, 2, 1000f),      // large mean against the spread
            new Case(2, 1, 1, 1, 0f),          // rows, 2 values per slice
            new Case(16, 3, 1, 8, 0f),         // rows, 8 groups of 2
            new Case(10, 33, 1, 2, 0.25f),     // rows, c just past a 32-channel tile
            new Case(6, 70, 1, 1, 0f),
            new Case(1000, 5, 1, 2, 3f),       // rows, 8 chunks per slice
            new Case(64, 40, 1, 8, 1000f)};    // rows, large mean

    /** Every target with every case. */
    static Stream<Arguments> cases() {
        return ConformanceBackends.targets().flatMap(t -> Stream.of(CASES).map(c -> Arguments.of(t, c)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void trainEvalAndBackwardMatchReference(Target t, Case k) {
        var s = k.shape();
        int n = k.n(), c = k.c(), hw = k.hw();
        Random r = new Random(n * 1_000_003L + c * 1009L + hw * 31L + k.groups());
        Inputs in = new Inputs(s, r, k.centre());
        Results expected = reference(s, in), actual = run(t.device(), s, in);
        String on = t + " batchnorm " + k + ": ";

        double x = maxAbs(in.x), m = (double) s.groupSize() * hw;
        double scale = maxAbs(product(in.gamma, expected.invStd, c));
        Tolerance.assertClose(on + "mean", expected.mean, actual.mean, sumTol(m, x) / m + 4 * EPS * x, 0);
        Tolerance.assertClose(on + "invStd", expected.invStd, actual.invStd, 0, 32 * EPS);
        Tolerance.assertClose(on + "y", expected.y, actual.y, 16 * EPS * (x * scale + maxAbs(expected.y))
                + scale * (sumTol(m, x) / m + 4 * EPS * x), 0);
        Tolerance.assertClose(on + "running mean", expected.runningMean, actual.runningMean,
                sumTol(m, x) / m + 4 * EPS * (x + maxAbs(in.runningMean)), 0);
        Tolerance.assertClose(on + "running var", expected.runningVar, actual.runningVar, 0, 32 * EPS);

        double evalScale = maxAbs(in.gamma) / Math.sqrt(minValue(in.runningVar) + BN_EPS);
        Tolerance.assertClose(on + "eval y", expected.evalY, actual.evalY,
                16 * EPS * (x * evalScale + maxAbs(expected.evalY)), 0);

        double dy = maxAbs(in.dy), xhat = maxXhat(in.x, expected.mean, expected.invStd, s);
        double reduction = sumTol((double) n * hw, dy * xhat);
        Tolerance.assertClose(on + "dgamma", expected.dgamma, actual.dgamma,
                reduction + 4 * EPS * maxAbs(in.dgamma), 0);
        Tolerance.assertClose(on + "dbeta", expected.dbeta, actual.dbeta,
                sumTol((double) n * hw, dy) + 4 * EPS * maxAbs(in.dbeta), 0);
        Tolerance.assertClose(on + "dx", expected.dx, actual.dx,
                32 * EPS * (scale * (dy + xhat * dy) + maxAbs(in.dx)), 0);
    }

    /** The device's reductions have a fixed order: two runs agree bit for bit. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void deviceIsDeterministic(Target t, Case k) {
        var s = k.shape();
        Inputs in = new Inputs(s, new Random(7), k.centre());
        Results first = run(t.device(), s, in), second = run(t.device(), s, in);
        assertArrayEquals(first.y, second.y);
        assertArrayEquals(first.runningVar, second.runningVar);
        assertArrayEquals(first.dx, second.dx);
        assertArrayEquals(first.dgamma, second.dgamma);
    }

    /** One value per (group, channel) has no unbiased variance: refused, as on CPU (and in PyTorch). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void trainingRefusesOneValuePerSlice(Target t) {
        var s = new BatchNormShape(2, 3, 1, 2);
        Backend b = t.device();
        try (Views v = new Views(b)) {
            Buffer x = v.of(new float[6]), y = v.of(new float[6]), stats = v.of(new float[6]);
            Buffer params = v.of(new float[] {1, 1, 1});
            assertThrows(IllegalArgumentException.class,
                    () -> b.batchNormTrain(s, x, params, params, y, stats, stats, params, params, 0.1f, 1e-5f));
        }
    }

    /** Random inputs of one case: x around a centre, positive running variances, non-zero gradients. */
    private static final class Inputs {
        final float[] x, gamma, beta, runningMean, runningVar, dy, dx, dgamma, dbeta;

        Inputs(BatchNormShape s, Random r, float centre) {
            int size = (int) s.size(), c = s.c();
            x = uniform(r, size, -1, 1);
            for (int i = 0; i < size; i++) x[i] += centre;
            gamma = uniform(r, c, -1, 1);
            beta = uniform(r, c, -1, 1);
            runningMean = uniform(r, c, -1, 1);
            runningVar = uniform(r, c, -1, 1);
            for (int i = 0; i < c; i++) runningVar[i] = 0.5f + Math.abs(runningVar[i]);
            dy = uniform(r, size, -1, 1);
            dx = uniform(r, size, -1, 1);
            dgamma = uniform(r, c, -1, 1);
            dbeta = uniform(r, c, -1, 1);
        }
    }

    private record Results(float[] y, float[] mean, float[] invStd, float[] runningMean, float[] runningVar,
                           float[] evalY, float[] dx, float[] dgamma, float[] dbeta) {}

    /** Eval (with the initial running statistics), then train, then backward, all on guarded views. */
    private static Results run(Backend backend, BatchNormShape s, Inputs in) {
        try (Views v = new Views(backend)) {
            Buffer x = v.of(in.x), gamma = v.of(in.gamma), beta = v.of(in.beta);
            Buffer runningMean = v.of(in.runningMean), runningVar = v.of(in.runningVar);
            Buffer evalY = v.of(new float[(int) s.size()]), y = v.of(new float[(int) s.size()]);
            Buffer mean = v.of(new float[s.statsSize()]), invStd = v.of(new float[s.statsSize()]);
            Buffer dy = v.of(in.dy), dx = v.of(in.dx), dgamma = v.of(in.dgamma), dbeta = v.of(in.dbeta);
            backend.batchNormEval(s, x, gamma, beta, runningMean, runningVar, BN_EPS, evalY);
            backend.batchNormTrain(s, x, gamma, beta, y, mean, invStd, runningMean, runningVar, MOMENTUM, BN_EPS);
            backend.batchNormBackward(s, x, dy, gamma, mean, invStd, dx, dgamma, dbeta);
            var out = new Results(v.read(y), v.read(mean), v.read(invStd), v.read(runningMean), v.read(runningVar),
                    v.read(evalY), v.read(dx), v.read(dgamma), v.read(dbeta));
            v.assertGuardsIntact();
            return out;
        }
    }

    /** {@link ReferenceOps} on the inputs of {@link #run}, in its order, rounded to float as a backend stores. */
    private static Results reference(BatchNormShape s, Inputs in) {
        int size = (int) s.size();
        double[] evalY = ReferenceOps.batchNormEval(s, in.x, in.gamma, in.beta, in.runningMean, in.runningVar, BN_EPS,
                new double[size]);
        double[] y = new double[size], mean = new double[s.statsSize()], invStd = new double[s.statsSize()];
        double[] runningMean = widen(in.runningMean), runningVar = widen(in.runningVar);
        ReferenceOps.batchNormTrain(s, in.x, in.gamma, in.beta, y, mean, invStd, runningMean, runningVar, MOMENTUM,
                BN_EPS);
        double[] dx = widen(in.dx), dgamma = widen(in.dgamma), dbeta = widen(in.dbeta);
        ReferenceOps.batchNormBackward(s, in.x, in.dy, in.gamma, narrow(mean), narrow(invStd), dx, dgamma, dbeta);
        return new Results(narrow(y), narrow(mean), narrow(invStd), narrow(runningMean), narrow(runningVar),
                narrow(evalY), narrow(dx), narrow(dgamma), narrow(dbeta));
    }

    /** Tolerance of a float sum of n terms bounded by t (see the class comment). */
    private static double sumTol(double n, double t) {
        return 8 * EPS * Math.sqrt(n) * (Math.log(n + 1) / Math.log(2)) * t;
    }

    /** max |x - mean| invStd over all values, from the reference statistics. */
    private static double maxXhat(float[] x, float[] mean, float[] invStd, BatchNormShape s) {
        double worst = 0;
        for (int i = 0; i < x.length; i++) {
            int sample = i / (s.c() * s.hw()), ch = (i / s.hw()) % s.c(), st = (sample % s.groups()) * s.c() + ch;
            worst = Math.max(worst, Math.abs((x[i] - mean[st]) * (double) invStd[st]));
        }
        return worst;
    }

    /** gamma[ch] invStd[g, ch] for every (g, ch). */
    private static float[] product(float[] gamma, float[] invStd, int c) {
        float[] p = new float[invStd.length];
        for (int i = 0; i < p.length; i++) p[i] = gamma[i % c] * invStd[i];
        return p;
    }

    private static double maxAbs(float[] v) {
        double m = 0;
        for (float f : v) m = Math.max(m, Math.abs(f));
        return m;
    }

    private static double minValue(float[] v) {
        double m = Double.POSITIVE_INFINITY;
        for (float f : v) m = Math.min(m, f);
        return m;
    }
}
