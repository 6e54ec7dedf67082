package dev.jmoco.backend.cuda;

import dev.jmoco.backend.BackendProvider;
import dev.jmoco.backend.Backends;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.conformance.ConformanceBackends.Views;
import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.backend.cuda.Tf32GemmTilingTest.Case;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@link Tf32Gemm} on a CUDA GPU (sm_80 or later) against {@link ReferenceOps#gemm}, for the sizes, transposes and
 * scalars of {@link Tf32GemmTilingTest#cases()} (which checks the same index arithmetic on a CPU emulation), with
 * operands at odd float offsets (4-byte alignment only) between sentinel guards, and NaN in C when beta = 0.
 * Two data sets: "exact" (multiples of 1/4 in [-2, 2]: TF32 and float sums are exact, so the GPU must equal the
 * reference bit for bit) and "random" (uniform in [-1, 1), within {@link Tf32GemmTilingTest#tf32Abs}, derived
 * there: about k 2^-10 max|a| max|b|, plus float summation). Then split-k, and MoCo's InfoNCE shapes and a 4096^3
 * square with their times printed.
 * <p>
 * Runs only where the cuda provider reports a device and this build's kernels; it is skipped otherwise, unless the
 * environment sets {@code JMOCO_REQUIRE_CUDA=1} (native-tests/run-gpu.sh does): then it fails.
 */
class Tf32GemmTest {
    private static final String REQUIRE_CUDA = "JMOCO_REQUIRE_CUDA";

    private static CudaBackend cuda;
    private static String absent;
    private long liveBefore;

    @BeforeAll
    static void open() {
        BackendProvider.Availability a = new CudaBackendProvider().availability();
        if (!a.available()) {
            absent = a.reason();
            return;
        }
        // A device that is reported but cannot be opened fails here, as it should.
        cuda = (CudaBackend) Backends.create("cuda");
    }

    @AfterAll
    static void close() {
        if (cuda != null) cuda.close();
    }

    @BeforeEach
    void needsCuda() {
        if ("1".equals(System.getenv(REQUIRE_CUDA)) && cuda == null)
            fail(REQUIRE_CUDA + "=1 but CUDA cannot run here: " + absent);
        assumeTrue(cuda != null, () -> "no CUDA: " + absent);
        liveBefore = cuda.poolStats().live();
    }

    @AfterEach
    void noBufferLeftOpen() {
        if (cuda != null)
            assertEquals(liveBefore, cuda.poolStats().live(), "device buffers left open (split-k scratch?)");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.cuda.Tf32GemmTilingTest#cases")
    void exactValuesMatchTheCpuBitForBit(Case t) {
        check(t, true, 0);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.cuda.Tf32GemmTilingTest#cases")
    void randomValuesStayWithinTheTf32Bound(Case t) {
        check(t, false, -1);
    }

    @Test
    void splitKSumsItsSlicesExactly() {
        // 65 x 33 is 2 tiles of C, far fewer than 4 per SM: k = 4000 is split (checked, so the path really runs).
        assertTrue(Tf32Gemm.sliceLength(65, 33, 4000, cuda.computeUnits()) < 4000);
        for (int tr = 0; tr < 4; tr++)
            for (float beta : new float[] {0f, 0.5f})
                check(new Case(tr / 2 == 1, tr % 2 == 1, 65, 33, 4000, -1.5f, beta), true, 0);
    }

    /**
     * MoCo's InfoNCE GEMMs at batch 256, 128 features, queue 65536 (logits = q queue^T: 256 x 65536 x 128, B
     * stored [n, k]; dq = dlogits queue: 256 x 128 x 65536, split-k) and a 4096^3 square, exact data (|16 sum|
     * stays below 2^22, so float holds every partial sum): equal to the reference bit for bit (on 16 sampled rows);
     * then timed (10 runs after one warm-up, no L2 flush) next to the backend's own gemm (cuBLAS or gemm_tiled),
     * printed for the report.
     */
    @Test
    void moCoShapesAndALargeSquareAreExactAndTimed() {
        Case[] shapes = {new Case(false, true, 256, 65536, 128, 1f, 0f),
                new Case(false, false, 256, 128, 65536, 1f, 0f),
                new Case(false, false, 4096, 4096, 4096, 1f, 0f)};
        for (Case t : shapes) {
            check(t, true, 0);
            float[][] in = Tf32GemmTilingTest.inputs(t, true, 7);
            try (Buffer a = upload(in[0]); Buffer b = upload(in[1]); Buffer c = upload(in[2])) {
                Tf32Gemm tf32 = new Tf32Gemm(cuda);
                double tf32Ms = time(() -> tf32.gemm(t.transA(), t.transB(), t.m(), t.n(), t.k(), 1f,
                        cuda.own("gemm", a), cuda.own("gemm", b), 0f, cuda.own("gemm", c)));
                double backendMs = time(() -> cuda.gemm(t.transA(), t.transB(), t.m(), t.n(), t.k(), 1f, a, b, 0f, c));
                double gflop = 2.0 * t.m() * t.n() * t.k() / 1e9;
                System.out.printf("Tf32GemmTest %s on %s: gemm_tf32 %.3f ms (%.1f TFLOP/s), backend gemm %.3f ms"
                        + " (%.1f TFLOP/s)%n", t, cuda, tf32Ms, gflop / tf32Ms, backendMs, gflop / backendMs);
            }
        }
    }

    /**
     * The rows of C to check: all of them, or for products past 2^30 multiply-adds (too many for a scalar double
     * loop) the first, the last and 14 spread between.
     */
    private static int[] checkedRows(Case t) {
        if ((long) t.m() * t.n() * t.k() <= 1L << 30) return IntStream.range(0, t.m()).toArray();
        return IntStream.range(0, 16).map(i -> (int) ((long) i * (t.m() - 1) / 15)).toArray();
    }

    /** Milliseconds per run of {@code op}: one warm-up, then 10 runs between stream waits. */
    private static double time(Runnable op) {
        op.run();
        cuda.synchronize();
        long t0 = System.nanoTime();
        for (int i = 0; i < 10; i++) op.run();
        cuda.synchronize();
        return (System.nanoTime() - t0) / 1e6 / 10;
    }

    private static Buffer upload(float[] values) {
        Buffer b = cuda.allocate(values.length);
        cuda.upload(values, 0, b);
        return b;
    }

    /**
     * Runs case {@code t} on the GPU and compares it with {@link ReferenceOps#gemm}: equal when {@code
     * exactValues}, else within the TF32 bound.
     */
    private static void check(Case t, boolean exactValues, int seedSalt) {
        float[][] in = Tf32GemmTilingTest.inputs(t, exactValues, 17L * t.hashCode() + seedSalt);
        float[] a = in[0], b = in[1], c = in[2];
        int[] rows = checkedRows(t);
        double[] want = new double[rows.length * t.n()];
        for (int i = 0; i < rows.length; i++) {
            // Row i of C is row i of op(A) times op(B): a one-row GEMM on that row (stored [1, k]).
            float[] aRow = new float[t.k()];
            for (int p = 0; p < t.k(); p++) aRow[p] = t.transA() ? a[p * t.m() + rows[i]] : a[rows[i] * t.k() + p];
            float[] cRow = Arrays.copyOfRange(c, rows[i] * t.n(), (rows[i] + 1) * t.n());
            System.arraycopy(ReferenceOps.gemm(false, t.transB(), 1, t.n(), t.k(), t.alpha(), aRow, b, t.beta(),
                    ReferenceOps.widen(cRow)), 0, want, i * t.n(), t.n());
        }
        float[] got;
        try (Views v = new Views(cuda)) {
            // Odd float offsets: the kernel may assume nothing beyond 4-byte alignment.
            Buffer da = v.at(3, a), db = v.at(1, b), dc = v.at(6, c);
            new Tf32Gemm(cuda).gemm(t.transA(), t.transB(), t.m(), t.n(), t.k(), t.alpha(), cuda.own("gemm", da),
                    cuda.own("gemm", db), t.beta(), cuda.own("gemm", dc));
            float[] all = v.read(dc);
            got = new float[want.length];
            for (int i = 0; i < rows.length; i++) System.arraycopy(all, rows[i] * t.n(), got, i * t.n(), t.n());
            v.assertGuardsIntact();
            float[] aAfter = v.read(da), bAfter = v.read(db);
            assertTrue(Arrays.equals(a, aAfter) && Arrays.equals(b, bAfter), t + ": inputs changed");
        }
        if (exactValues) Tolerance.assertClose(t + " exact, vs reference", want, got, 0, 0);
        else Tolerance.assertClose(t + " random, vs reference", want, got,
                Tf32GemmTilingTest.tf32Abs(t.k(), t.alpha(), Tf32GemmTilingTest.maxAbs(a), Tf32GemmTilingTest.maxAbs(b),
                        t.beta(), Tf32GemmTilingTest.maxAbs(c)), Tf32GemmTilingTest.TF32_REL);
    }
}
