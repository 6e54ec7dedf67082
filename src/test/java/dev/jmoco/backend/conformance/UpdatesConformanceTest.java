package dev.jmoco.backend.conformance;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.conformance.ConformanceBackends.Target;
import dev.jmoco.backend.conformance.ConformanceBackends.Views;
import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Random;
import java.util.function.Function;

import static dev.jmoco.backend.conformance.ConformanceBackends.uniform;
import static dev.jmoco.backend.reference.ReferenceOps.widen;

/**
 * ema, enqueue and sgd on each backend under test against {@link ReferenceOps}. The EMA runs on float4s where both
 * views share their alignment modulo 4 floats, with scalar heads and tails: offsets (0, 0), (1, 5) (3-float
 * head), (3, 3) (1-float head), and (1, 2) (misaligned: the scalar kernel), over sizes 1 to 4099 that leave
 * every tail length 0..3. Enqueue covers no wrap, a wrap, a full queue and a one-row write at the last row.
 * <p>
 * Tolerances: the EMA and SGD compute a few products and sums per element; a device may contract them into fused
 * multiply-adds (one rounding less): 4 eps relative plus 4 eps absolute for inputs in [-1, 1). Enqueue only moves
 * floats: exact.
 */
class UpdatesConformanceTest {
    @RegisterExtension static final ConformanceBackends backends = new ConformanceBackends();

    private static final double EPS = Math.ulp(1f);

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void emaOnEveryAlignment(Target t) {
        int[][] offsets = {{0, 0}, {1, 5}, {3, 3}, {1, 2}};
        for (int n : new int[] {1, 2, 3, 4, 5, 6, 7, 1023, 4099})
            for (int[] off : offsets)
                for (float m : new float[] {0.999f, 0.5f, 0}) {
                    Random r = new Random(n * 7L + off[0]);
                    float[] target = uniform(r, n, -1, 1), source = uniform(r, n, -1, 1);
                    Function<Backend, float[]> run = b -> {
                        try (Views v = new Views(b)) {
                            Buffer bt = v.at(off[0], target);
                            b.ema(m, bt, v.at(off[1], source));
                            float[] res = v.read(bt);
                            v.assertGuardsIntact();
                            return res;
                        }
                    };
                    Tolerance.assertClose(t + " ema n=" + n + " offsets=" + off[0] + "," + off[1] + " m=" + m,
                            ReferenceOps.ema(m, widen(target), source), run.apply(t.device()), 4 * EPS, 4 * EPS);
                }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void enqueueWrapsAroundTheRing(Target t) {
        int capacity = 10, c = 3;
        int[][] nPtr = {{4, 0}, {4, 8}, {10, 3}, {1, 9}, {10, 0}};
        for (int[] np : nPtr) {
            int n = np[0], ptr = np[1];
            Random r = new Random(n * 100L + ptr);
            float[] queue = uniform(r, capacity * c, -1, 1), keys = uniform(r, n * c, -1, 1);
            Function<Backend, float[]> run = b -> {
                try (Views v = new Views(b)) {
                    Buffer bq = v.at(4, queue);
                    b.enqueue(bq, capacity, c, v.at(1, keys), n, ptr);
                    float[] res = v.read(bq);
                    v.assertGuardsIntact();
                    return res;
                }
            };
            double[] expected = widen(queue);
            ReferenceOps.enqueue(expected, capacity, c, keys, n, ptr);
            Tolerance.assertClose(t + " enqueue n=" + n + " ptr=" + ptr, expected, run.apply(t.device()), 0, 0);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void sgdStepMatchesPyTorchFormula(Target t) {
        float[][] hyper = {{0.03f, 0.9f, 1e-4f}, {0.5f, 0, 0}, {0.1f, 0.99f, 0.05f}};
        for (int n : new int[] {1, 255, 257, 4099})
            for (float[] h : hyper) {
                Random r = new Random(n);
                float[] p = uniform(r, n, -1, 1), g = uniform(r, n, -1, 1), vel = uniform(r, n, -1, 1);
                Function<Backend, float[]> run = b -> {
                    try (Views v = new Views(b)) {
                        Buffer bp = v.at(1, p), bv = v.at(2, vel);
                        b.sgd(h[0], h[1], h[2], bp, v.at(3, g), bv);
                        float[] pv = new float[2 * n];
                        System.arraycopy(v.read(bp), 0, pv, 0, n);
                        System.arraycopy(v.read(bv), 0, pv, n, n);
                        v.assertGuardsIntact();
                        return pv;
                    }
                };
                double[] param = widen(p), velocity = widen(vel), expected = new double[2 * n];
                ReferenceOps.sgd(h[0], h[1], h[2], param, g, velocity);
                System.arraycopy(param, 0, expected, 0, n);
                System.arraycopy(velocity, 0, expected, n, n);
                Tolerance.assertClose(t + " sgd n=" + n + " lr/momentum/wd=" + java.util.Arrays.toString(h),
                        expected, run.apply(t.device()), 4 * EPS, 4 * EPS);
            }
    }
}
