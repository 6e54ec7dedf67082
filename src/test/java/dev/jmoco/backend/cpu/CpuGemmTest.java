package dev.jmoco.backend.cpu;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static dev.jmoco.backend.reference.ReferenceOps.widen;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SGEMM against the double-precision reference ({@link ReferenceOps#gemm}), on every path that exists here: the Vector API kernels
 * ("java": 4 x 64 tiles, and 8 x 16 for C of at most 32 columns), the plain-Java kernel ("plain", 4 x 4) and,
 * where libopenblas loads, OpenBLAS. Each path runs all four transpose combinations over square sizes 1..129
 * and non-square mixes that cross the tile edges, the depth block (512), the column block (1024), the
 * row-block limit of reading B in place (64 rows), the parallel threshold and OpenBLAS's own threads (every
 * dimension at least 512), with
 * alpha/beta pairs covering beta = 0 on a NaN-filled C (C must not be read), beta = 1 (accumulate) and
 * general scaling. Operands are guarded views at non-zero offsets (GuardedBuffers) on a 2-thread backend.
 * <p>
 * Tolerance: entries are uniform in [-1, 1), so a dot product of length k is about sqrt(k)/3 in size and float
 * rounding adds errors that grow like sqrt(k) eps relative to it. Stated per check:
 * rel = 8 sqrt(k) eps, abs = rel (|alpha| sqrt(k) / 3 + |beta|), eps = 2^-23.
 */
class CpuGemmTest {
    private static final double EPS = Math.ulp(1f);
    private static final int[] SIZES = {1, 3, 7, 17, 33, 65, 100, 129};
    private static final int[][] MIXES = {
            {1, 129, 7}, {129, 1, 33}, {65, 3, 100}, {17, 100, 33}, {100, 17, 129}, {7, 65, 1},
            {5, 200, 600}, {130, 70, 1100}, {33, 1100, 20}, {300, 250, 513}, {300, 20, 700}, {520, 530, 515}};
    private static final float[][] ALPHA_BETA = {{1, 0}, {0.5f, 1}, {-2, 0.25f}, {1, 1}};

    static Stream<String> paths() {
        List<String> paths = new ArrayList<>(List.of("java", "plain"));
        try (CpuBackend probe = new CpuBackend(1)) {
            if (new CpuGemm(probe.parallel, "openblas").usesOpenBlas()) paths.add("openblas");
        }
        return paths.stream();
    }

    static Stream<Arguments> pathsAndTransposes() {
        return paths().flatMap(p -> Stream.of(Arguments.of(p, false, false), Arguments.of(p, false, true),
                Arguments.of(p, true, false), Arguments.of(p, true, true)));
    }

    @ParameterizedTest(name = "{0} transA={1} transB={2}")
    @MethodSource("pathsAndTransposes")
    void squareSizesMatchReference(String path, boolean ta, boolean tb) {
        for (int size : SIZES) check(path, ta, tb, size, size, size, ALPHA_BETA[(size % ALPHA_BETA.length)]);
    }

    @ParameterizedTest(name = "{0} transA={1} transB={2}")
    @MethodSource("pathsAndTransposes")
    void nonSquareShapesMatchReference(String path, boolean ta, boolean tb) {
        for (int[] mnk : MIXES)
            for (float[] ab : ALPHA_BETA) check(path, ta, tb, mnk[0], mnk[1], mnk[2], ab);
    }

    @Test
    void backendEntryPointRunsTheActivePath() {
        try (var g = new GuardedBuffers(2)) {
            String impl = g.backend.gemmImplementation();
            assertTrue(impl.contains("vector-api") || impl.contains("plain-java") || impl.contains("openblas"), impl);
            Random r = new Random(5);
            int m = 70, n = 90, k = 110;
            float[] a = GuardedBuffers.uniform(r, m * k, -1, 1), b = GuardedBuffers.uniform(r, k * n, -1, 1);
            float[] c0 = new float[m * n];
            Arrays.fill(c0, Float.NaN);
            Buffer c = g.of(c0);
            g.backend.gemm(false, true, m, n, k, 1f, g.of(a), g.of(b), 0f, c);
            Tolerance.assertClose("backend gemm", ReferenceOps.gemm(false, true, m, n, k, 1, a, b, 0, widen(c0)), g.read(c),
                    tolerance(k, 1, 0), 8 * Math.sqrt(k) * EPS);
            g.assertGuardsIntact();
        }
    }

    @Test
    void unknownModeIsRejected() {
        try (CpuBackend backend = new CpuBackend(1)) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> new CpuGemm(backend.parallel, "fast"));
            assertTrue(e.getMessage().contains("jmoco.cpu.gemm"), e.getMessage());
        }
    }

    @Test
    void plainPathSaysSo() {
        try (CpuBackend backend = new CpuBackend(1)) {
            assertEquals("plain-java", new CpuGemm(backend.parallel, "plain").implementation());
            assertTrue(new CpuGemm(backend.parallel, "java").implementation().startsWith("vector-api"),
                    "tests run with --add-modules jdk.incubator.vector");
        }
    }

    private static void check(String path, boolean ta, boolean tb, int m, int n, int k, float[] ab) {
        float alpha = ab[0], beta = ab[1];
        try (var g = new GuardedBuffers(2)) {
            Random r = new Random(31L * m + 17L * n + k);
            float[] a = GuardedBuffers.uniform(r, m * k, -1, 1), b = GuardedBuffers.uniform(r, k * n, -1, 1);
            float[] c0 = beta == 0 ? nans(m * n) : GuardedBuffers.uniform(r, m * n, -1, 1);
            Buffer c = g.of(c0);
            new CpuGemm(g.backend.parallel, path).gemm(ta, tb, m, n, k, alpha, (CpuBuffer) g.of(a),
                    (CpuBuffer) g.of(b), beta, (CpuBuffer) c);
            String what = String.format("%s gemm transA=%b transB=%b m=%d n=%d k=%d alpha=%s beta=%s",
                    path, ta, tb, m, n, k, alpha, beta);
            Tolerance.assertClose(what, ReferenceOps.gemm(ta, tb, m, n, k, alpha, a, b, beta, widen(c0)), g.read(c),
                    tolerance(k, alpha, beta), 8 * Math.sqrt(k) * EPS);
            g.assertGuardsIntact();
        }
    }

    private static double tolerance(int k, float alpha, float beta) {
        return 8 * Math.sqrt(k) * EPS * (Math.abs(alpha) * Math.sqrt(k) / 3 + Math.abs(beta));
    }

    private static float[] nans(int size) {
        float[] v = new float[size];
        Arrays.fill(v, Float.NaN);
        return v;
    }
}
