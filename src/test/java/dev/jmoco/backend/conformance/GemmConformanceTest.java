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

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static dev.jmoco.backend.conformance.ConformanceBackends.uniform;

/**
 * GEMM on each backend under test against {@link ReferenceOps#gemm}: all four transpose combinations over shapes that
 * cross the 64 x 64 x 16 tiles of the OpenCL kernel on every side (1 x 1 x 1, single rows and columns, 17 x 33
 * x 65, exact tiles 64^3, 128 x 100 x 300) and long-k shapes that the OpenCL GEMM splits along k (on PoCL's
 * 2 compute units: 64 x 64 x 4096 into 8 slices, 100 x 70 x 1000 into a full and a ragged slice), each with
 * alpha = 1, beta = 0 on a NaN-filled C (C must not be read), beta = 1 (accumulate) and general alpha, beta.
 * Operands are views at different non-zero offsets into roots whose margins hold a sentinel ({@link Views}):
 * a kernel that ignores an offset reads wrong data, one that writes outside C's view is caught.
 * <p>
 * Tolerance: entries are uniform in [-1, 1), so a dot product of length k is about sqrt(k)/3 and float rounding
 * errs by about sqrt(k) eps relative to it, on each backend, in a different summation order:
 * rel = 16 sqrt(k) eps, abs = rel (|alpha| sqrt(k) / 3 + |beta|), eps = 2^-23.
 */
class GemmConformanceTest {
    @RegisterExtension static final ConformanceBackends backends = new ConformanceBackends();

    private static final double EPS = Math.ulp(1f);
    private static final int[][] SHAPES = {
            {1, 1, 1}, {1, 70, 3}, {65, 1, 17}, {17, 33, 65}, {64, 64, 64}, {128, 100, 300}, {3, 130, 129},
            {64, 64, 4096}, {100, 70, 1000}}; // the last two split k where C has few tiles per compute unit
    private static final float[][] ALPHA_BETA = {{1, 0}, {1, 1}, {-1.5f, 0.75f}};

    static Stream<Arguments> cases() {
        return ConformanceBackends.targets().flatMap(t -> {
            List<Arguments> cases = new ArrayList<>();
            for (int[] shape : SHAPES)
                for (int tr = 0; tr < 4; tr++)
                    for (float[] ab : ALPHA_BETA)
                        cases.add(Arguments.of(t, tr >= 2, tr % 2 == 1, shape[0], shape[1], shape[2], ab[0], ab[1]));
            return cases.stream();
        });
    }

    @ParameterizedTest(name = "{0} transA={1} transB={2} m={3} n={4} k={5} alpha={6} beta={7}")
    @MethodSource("cases")
    void matchesReference(Target t, boolean ta, boolean tb, int m, int n, int k, float alpha, float beta) {
        Random r = new Random(31L * m + 17L * n + k + (ta ? 1 : 0) + (tb ? 2 : 0));
        float[] a = uniform(r, m * k, -1, 1), b = uniform(r, k * n, -1, 1);
        float[] c = beta == 0 ? nan(m * n) : uniform(r, m * n, -1, 1);
        double[] expected = ReferenceOps.gemm(ta, tb, m, n, k, alpha, a, b, beta, ReferenceOps.widen(c));
        float[] actual = run(t.device(), ta, tb, m, n, k, alpha, a, b, beta, c);
        double rel = 16 * Math.sqrt(k) * EPS, abs = rel * (Math.abs(alpha) * Math.sqrt(k) / 3 + Math.abs(beta));
        Tolerance.assertClose(t + " gemm", expected, actual, abs, rel);
    }

    /** C after the GEMM on {@code backend}, with every operand a guarded view at its own offset. */
    private static float[] run(Backend backend, boolean ta, boolean tb, int m, int n, int k, float alpha,
                               float[] a, float[] b, float beta, float[] c) {
        try (Views v = new Views(backend)) {
            Buffer bc = v.at(5, c);
            backend.gemm(ta, tb, m, n, k, alpha, v.at(3, a), v.at(11, b), beta, bc);
            float[] out = v.read(bc);
            v.assertGuardsIntact();
            return out;
        }
    }

    private static float[] nan(int size) {
        float[] v = new float[size];
        Arrays.fill(v, Float.NaN);
        return v;
    }
}
