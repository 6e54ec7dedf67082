package dev.jmoco.backend.gpu;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.conformance.ConformanceBackends;
import dev.jmoco.backend.conformance.ConformanceBackends.Target;
import dev.jmoco.backend.conformance.ConformanceBackends.Views;
import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.Random;

import static dev.jmoco.backend.conformance.InfoNceInputs.accuraciesOneFeature;
import static dev.jmoco.backend.conformance.InfoNceInputs.correlatedKeys;
import static dev.jmoco.backend.conformance.InfoNceInputs.nan;
import static dev.jmoco.backend.conformance.InfoNceInputs.rows;
import static dev.jmoco.backend.conformance.InfoNceInputs.ternary;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link InfoNceRows} on each device under test (PoCL's "opencl:cpu" in CI; the CUDA backend where one runs),
 * with the device backend's own {@code gemm} as the GEMM, against {@link ReferenceOps#infoNce} on the same
 * inputs: stats, dq and dk (or dk omitted). Every operand is a guarded view at an odd offset
 * ({@link Views}: a write outside an output view fails), the outputs start as NaN (the route writes them).
 *
 * <p>Shapes cover the kernel's paths: MoCo-like rows (c = 128, K = 4096, t = 0.07), K below the work-group
 * size (idle work-items), K odd (rows at i K: only every fourth row starts 16-byte aligned, so float4 rows
 * and scalar rows meet in one launch), c = 1, c = 200 and c past the work-group size, n = 1, a gradScale
 * other than 1 on long rows, and exact ties for the rank rule.
 *
 * <p>Tolerances are those of LossesConformanceTest (its class Javadoc): with L = |q|max |key|max / t and
 * e = 4 sqrt(c) eps L, loss abs 2e + 1e-6, rel 1e-5; dq abs (4e + 1e-5) g |key|max and dk abs
 * (4e + 1e-5) g |q|max, rel 1e-4, g = |gradScale| / (n t); accuracies exactly. The worst error of each
 * quantity as a fraction of its threshold is printed after the run.
 */
class InfoNceRowsTest {
    @RegisterExtension static final ConformanceBackends backends = new ConformanceBackends();

    private static final double EPS = Math.ulp(1f);
    /** Worst error / threshold seen, per quantity: loss, dq, dk. */
    private static final double[] WORST = new double[3];

    /** One problem: inputs and the row-length bounds that set the tolerances. */
    private record Case(int n, int c, int kq, float t, float[] q, float[] k, float[] queue, float gradScale,
                        boolean withDk, double qNorm, double keyNorm) {
        @Override public String toString() { return "n=" + n + " c=" + c + " K=" + kq + " t=" + t; }
    }

    /** stats, dq and dk (null when omitted). */
    private record Result(float[] stats, float[] dq, float[] dk) {}

    @Test
    void fitsBoundsTheLogitsMatrix() {
        assertTrue(InfoNceRows.fits(256, 65536));
        assertTrue(InfoNceRows.fits(1024, 65536));   // exactly MAX_LOGITS
        assertFalse(InfoNceRows.fits(1025, 65536));
        assertTrue(InfoNceRows.fits(1, 1 << 26));
        assertFalse(InfoNceRows.fits(1, (1 << 26) + 1));
        assertFalse(InfoNceRows.fits(0, 10));
        assertFalse(InfoNceRows.fits(10, 0));
        assertFalse(InfoNceRows.fits(Integer.MAX_VALUE, Integer.MAX_VALUE)); // n K overflows int
    }

    @Test
    void refusesWhatItCannotRun() {
        InfoNceRows small = new InfoNceRows(runtime(InfoNceRows.THREADS / 2));
        var e = assertThrows(UnsupportedOperationException.class,
                () -> small.run(1, 1, 1, 1f, null, null, null, 1f, null, null, null, null));
        assertTrue(e.getMessage().contains("work-groups of " + InfoNceRows.THREADS), e.getMessage());
        InfoNceRows big = new InfoNceRows(runtime(1024));
        assertThrows(UnsupportedOperationException.class,
                () -> big.run(1025, 1, 65536, 1f, null, null, null, 1f, null, null, null, null));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void mocoLikeRows(Target t) {
        int n = 32, c = 128, kq = 8192; // two float4s per work-item of 1024
        Random r = new Random(1);
        float[] q = rows(r, n, c, 1, 1);
        Result got = check(t, new Case(n, c, kq, 0.07f, q, correlatedKeys(r, q, n, c), rows(r, kq, c, 1, 1), 1f,
                true, 1, 1));
        assertTrue(got.stats[1] > 0 && got.stats[1] < 1 && got.stats[2] > got.stats[1],
                "accuracies should be non-trivial: " + Arrays.toString(got.stats));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void shapesAtTheEdges(Target t) {
        int[][] shapes = { // n, c, K
                {5, 16, 100}, {4, 16, 3}, {2, 8, 1},       // K below the work-group size (100: float4 rows)
                {7, 32, 1001}, {6, 24, 9219},              // K odd: aligned and unaligned rows in one launch,
                                                           // 2-3 float4s or 9-10 floats per work-item
                {9, 1, 517}, {3, 200, 600}, {2, 1500, 40}, // c = 1, c = 200, c past the work-group size
                {1, 64, 2048}, {1, 3, 5}};                 // n = 1
        for (int s = 0; s < shapes.length; s++) {
            int n = shapes[s][0], c = shapes[s][1], kq = shapes[s][2];
            Random r = new Random(100 + s);
            float temperature = s % 2 == 0 ? 0.07f : 0.2f;
            check(t, new Case(n, c, kq, temperature, rows(r, n, c, 1, 1), rows(r, n, c, 1, 1),
                    rows(r, kq, c, 1, 1), 1f, true, 1, 1));
        }
    }

    /** Rows of length up to 30 (logits past 10^3), gradScale -0.5 and 3, dk omitted and requested. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void gradScaleAndLongRows(Target t) {
        int n = 6, c = 48, kq = 777;
        Random r = new Random(2);
        float[] q = rows(r, n, c, 0.1, 30), k = rows(r, n, c, 0.1, 30), queue = rows(r, kq, c, 0.1, 30);
        check(t, new Case(n, c, kq, 0.2f, q, k, queue, -0.5f, false, 30, 30));
        check(t, new Case(n, c, kq, 0.07f, q, k, queue, 3f, true, 30, 30));
    }

    /**
     * Entries in {-1, 0, 1} make every dot an exact small integer, in any summation order, so many negatives
     * tie with their positive and must count against it (as in the reference); with one feature the
     * accuracies are also counted here by hand. With K = 30 the row starts i K alternate between 16-byte aligned
     * (float4 path) and not (scalar path); with K = 1032 every row takes the float4 path.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void tiesCountAgainstThePositive(Target t) {
        for (int kq : new int[] {30, 1032})
            for (int c : new int[] {1, 4, 40}) {
                int n = 50;
                Random r = new Random(31L * c + kq);
                float[] q = ternary(r, n * c), k = ternary(r, n * c), queue = ternary(r, kq * c);
                double len = Math.sqrt(c);
                Result got = check(t, new Case(n, c, kq, 1f, q, k, queue, 1f, true, len, len));
                if (c > 1) continue;
                assertArrayEquals(accuraciesOneFeature(q, k, queue, n, kq), new float[] {got.stats[1], got.stats[2]},
                        "K=" + kq);
            }
    }

    @AfterAll
    static void report() {
        System.out.printf("InfoNceRowsTest worst error / threshold: loss %.3g, dq %.3g, dk %.3g%n",
                WORST[0], WORST[1], WORST[2]);
    }

    /** Runs the case through InfoNceRows on the device; compares it with the reference; returns the device's. */
    private static Result check(Target t, Case x) {
        double[] refStats = new double[3], refDq = new double[x.n * x.c];
        double[] refDk = x.withDk ? new double[x.n * x.c] : null;
        ReferenceOps.infoNce(x.n, x.c, x.kq, x.t, x.q, x.k, x.queue, x.gradScale, refStats, refDq, refDk);
        Result want = new Result(ReferenceOps.narrow(refStats), ReferenceOps.narrow(refDq),
                refDk == null ? null : ReferenceOps.narrow(refDk));
        KernelRuntime rt = (KernelRuntime) t.device();
        Backend device = t.device();
        String op = "infoNce";
        Result got = run(device, x, (n, c, kq, temp, q, k, queue, gs, stats, dq, dk) ->
                new InfoNceRows(rt).run(n, c, kq, temp, rt.own(op, q), rt.own(op, k), rt.own(op, queue), gs,
                        rt.own(op, stats), rt.own(op, dq), dk == null ? null : rt.own(op, dk), device::gemm));
        String what = t + " infoNce by rows " + x;
        double l = x.qNorm * x.keyNorm / x.t, e = 4 * Math.sqrt(x.c) * EPS * l;
        double g = Math.abs(x.gradScale) / (x.n * (double) x.t);
        double lossAbs = 2 * e + 1e-6, dqAbs = (4 * e + 1e-5) * g * x.keyNorm, dkAbs = (4 * e + 1e-5) * g * x.qNorm;
        float[] wantLoss = {want.stats[0]}, gotLoss = {got.stats[0]};
        Tolerance.assertClose(what + " loss", wantLoss, gotLoss, lossAbs, 1e-5);
        assertEquals(want.stats[1], got.stats[1], what + " acc@1");
        assertEquals(want.stats[2], got.stats[2], what + " acc@5");
        Tolerance.assertClose(what + " dq", want.dq, got.dq, dqAbs, 1e-4);
        track(0, wantLoss, gotLoss, lossAbs, 1e-5);
        track(1, want.dq, got.dq, dqAbs, 1e-4);
        if (x.withDk) {
            Tolerance.assertClose(what + " dk", want.dk, got.dk, dkAbs, 1e-4);
            track(2, want.dk, got.dk, dkAbs, 1e-4);
        }
        return got;
    }

    private static synchronized void track(int which, float[] want, float[] got, double abs, double rel) {
        double[] w = new double[want.length];
        for (int i = 0; i < w.length; i++) w[i] = want[i];
        WORST[which] = Math.max(WORST[which], Tolerance.worstRatio(w, got, abs, rel));
    }

    /** {@code Backend.infoNce}'s signature, so one helper runs both sides. */
    private interface Loss {
        void run(int n, int c, int kq, float t, Buffer q, Buffer k, Buffer queue, float gradScale, Buffer stats,
                 Buffer dq, Buffer dk);
    }

    /** Runs {@code loss} on guarded views at odd offsets, with NaN-filled outputs; checks the guards. */
    private static Result run(Backend backend, Case x, Loss loss) {
        try (Views v = new Views(backend)) {
            Buffer stats = v.at(1, nan(3)), dq = v.at(5, nan(x.n * x.c)), dk = x.withDk ? v.at(3, nan(x.n * x.c)) : null;
            loss.run(x.n, x.c, x.kq, x.t, v.at(3, x.q), v.at(1, x.k), v.at(5, x.queue), x.gradScale, stats, dq, dk);
            Result result = new Result(v.read(stats), v.read(dq), dk == null ? null : v.read(dk));
            v.assertGuardsIntact();
            return result;
        }
    }

    /** A runtime that only answers its work-group limit (the checks that come before any launch). */
    private static KernelRuntime runtime(long maxWorkGroupSize) {
        return new KernelRuntime() {
            @Override public KernelLaunch launch(String kernelName) { throw new AssertionError(kernelName); }
            @Override public DeviceBuffer scratch(long floats) { throw new AssertionError("scratch"); }
            @Override public DeviceBuffer ints(int[] values) { throw new AssertionError("ints"); }
            @Override public long maxWorkGroupSize() { return maxWorkGroupSize; }
            @Override public long localMemBytes() { return 48 * 1024; }
            @Override public int computeUnits() { return 1; }
            @Override public DeviceBuffer own(String op, Buffer b) { throw new AssertionError(op); }
        };
    }
}
