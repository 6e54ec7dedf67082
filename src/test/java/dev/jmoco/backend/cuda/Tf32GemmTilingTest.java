package dev.jmoco.backend.cuda;

import dev.jmoco.backend.gpu.KernelGeometry;
import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
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
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The index arithmetic of kernels/cuda/gemm_tf32.cu checked without a GPU: {@link Emulation} re-implements the
 * kernel LINE BY LINE (same names, same expressions, same order; change both together), with shared memory as
 * flat arrays and wmma fragments as plain 16 x 8 / 8 x 16 / 16 x 16 matrices, and the emulated GEMM is compared
 * with a double-precision reference, through {@link Tf32Gemm}'s own launch geometry and split-k choice.
 * <p>
 * What the emulation asserts on its way, besides the results: every global read lies inside its operand, every
 * write inside C (or the split-k scratch), and sentinel guards around the views stay intact; each k step writes
 * every cell of both shared tiles exactly once (stale shared memory is NaN, and a fragment load that reads NaN
 * fails); fragment pointers are 32-byte aligned and leading dimensions multiples of 4 floats (wmma's rules); the
 * epilogue reads only staged cells.
 * <p>
 * Two data sets: "exact" (multiples of 1/4 up to 2 in magnitude: exact in TF32, and every product and partial sum
 * is a multiple of 1/16 far below 2^24, so any summation order gives the exact result and the check is equality)
 * and "random" (uniform in [-1, 1): TF32 rounding matters, checked against {@link #tf32Abs}).
 */
class Tf32GemmTilingTest {

    // ---- the shared pieces (also used by Tf32GemmTest) -----------------------------------------------------

    /** wmma::__float_to_tf32, i.e. cvt.rna.tf32.f32: round to 10 mantissa bits, to nearest, ties away from 0. */
    static float toTf32(float x) {
        if (!Float.isFinite(x)) return x;
        // Adding half of the dropped 13 bits' range to the magnitude, then truncating, rounds half away from zero
        // (sign-magnitude); a carry into the exponent is the correct rounding up, to infinity past the largest.
        return Float.intBitsToFloat((Float.floatToRawIntBits(x) + 0x1000) & 0xFFFF_E000);
    }

    /**
     * The absolute error bound of a TF32 GEMM against the exact product, for inputs bounded by maxA, maxB (and
     * C by maxC). Derivation: rounding to TF32 (11 significant bits) changes each input by at most half an ulp,
     * 2^-11 relative, so each product by at most 2^-11 + 2^-11 + 2^-22, about 2^-10 relative, and their sum over k
     * by 2^-10 sum|a||b| &lt;= 2^-10 k maxA maxB. TF32 products are exact in float (11 x 11 bits); summing them in
     * float adds at most one ulp (2^-23 relative, allowing for truncating rather than rounding tensor-core adders)
     * per addition of a partial sum bounded by sum|a||b|: (k + 16) 2^-23 k maxA maxB, counting the padded zeros
     * and split-k's slice sums; doubled to 2^-22 so that a float32 reference (the CPU backend: k 2^-24) fits too.
     * Then alpha scales it, and beta C adds its own rounding (2^-22 |beta| maxC); the final alpha/beta rounding is
     * the relative part {@link #TF32_REL}. A worst case, so the test never fails by chance; its weakness is long k,
     * where the tests use the exact data set instead.
     */
    static double tf32Abs(int k, float alpha, double maxA, double maxB, float beta, double maxC) {
        return Math.abs(alpha) * k * maxA * maxB * (0x1p-10 + (k + 16.0) * 0x1p-22) + Math.abs(beta) * maxC * 0x1p-22;
    }

    /** The relative part of the TF32 tolerance: the final alpha sum + beta c in float (a few half-ulps). */
    static final double TF32_REL = 0x1p-22;

    /** Values that TF32 and float sums hold exactly: multiples of 1/4 in [-2, 2]. */
    static float[] exact(Random r, int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) v[i] = (r.nextInt(17) - 8) / 4f;
        return v;
    }

    /** Uniform in [-1, 1). */
    static float[] uniform(Random r, int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) v[i] = 2 * r.nextFloat() - 1;
        return v;
    }

    static double maxAbs(float[] v) {
        double m = 0;
        for (float x : v) if (Float.isFinite(x)) m = Math.max(m, Math.abs(x));
        return m;
    }

    /** One GEMM to check: sizes, transposes, scalars; beta = 0 cases get NaN in C. */
    record Case(boolean transA, boolean transB, int m, int n, int k, float alpha, float beta) {
        @Override
        public String toString() {
            return (transA ? "T" : "N") + (transB ? "T" : "N") + " " + m + "x" + n + "x" + k + " alpha " + alpha
                    + " beta " + beta;
        }
    }

    /** The sizes both tests run, in all four transposes, each with beta 0 (NaN in C), 1, and general scalars. */
    static Stream<Case> cases() {
        int[][] sizes = {{1, 1, 1}, {17, 33, 9}, {65, 1, 130}, {64, 64, 16}, {1, 70, 33}, {130, 65, 47},
                {128, 192, 64}, {63, 129, 17}};
        float[][] scalars = {{1f, 0f}, {1f, 1f}, {-0.75f, 0.5f}};
        List<Case> list = new ArrayList<>();
        for (int t = 0; t < 4; t++)
            for (int[] s : sizes)
                for (float[] ab : scalars) list.add(new Case(t / 2 == 1, t % 2 == 1, s[0], s[1], s[2], ab[0], ab[1]));
        return list.stream();
    }

    // ---- the emulation -------------------------------------------------------------------------------------

    /**
     * gemm_tf32_tiled and gemm_splitk_reduce run on the CPU. The kernel's #defines, its body (each thread's
     * phase between barriers as a loop over threads or warps), and wmma's fragment operations. Global memory is a
     * float array per buffer with a view offset, as the kernel gets (pointer, offset).
     */
    static final class Emulation {
        // The kernel gets these three by -D from KernelGeometry, as the build's nvcc passes them.
        static final int GEMM_TF32_TILE = KernelGeometry.GEMM_TF32_TILE, GEMM_TF32_TK = KernelGeometry.GEMM_TF32_TK,
                GEMM_TF32_THREADS = KernelGeometry.GEMM_TF32_THREADS;
        static final int GEMM_TF32_LDK = GEMM_TF32_TK + 4, GEMM_TF32_LDC = GEMM_TF32_TILE + 4;
        static final int GEMM_TF32_WARP_TILE = 32, GEMM_TF32_FRAG = 16, GEMM_TF32_FRAG_K = 8;

        /** One view of global memory: the array, the view's offset and its size in floats (reads are checked). */
        record View(float[] mem, int off, int size) {}

        /** The grid of Tf32Gemm's launch (LaunchGeometry of its global and local sizes). */
        static void launchTiled(int gridX, int gridY, int transA, int transB, int m, int n, int k, int k_slice,
                                float alpha, View a, View b, float beta, View c) {
            for (int by = 0; by < gridY; by++)
                for (int bx = 0; bx < gridX; bx++)
                    block(bx, by, transA, transB, m, n, k, k_slice, alpha, a, b, beta, c);
        }

        /** The kernel body for block (blockIdx.x, blockIdx.y), mirrored line by line. */
        static void block(int blockIdxX, int blockIdxY, int transA, int transB, int m, int n, int k, int k_slice,
                          float alpha, View a, View b, float beta, View c) {
            // Shared memory starts as garbage: NaN, so that reading a cell never written fails.
            float[] tile_a = nans(GEMM_TF32_TILE * GEMM_TF32_LDK);
            float[] tile_b = nans(GEMM_TF32_TILE * GEMM_TF32_LDK);
            float[] tile_c = nans(GEMM_TF32_TILE * GEMM_TF32_LDC);

            // const float* A = a + a_off; const float* B = b + b_off; (reads go through read(view, index))
            final int row_tiles = (m + GEMM_TF32_TILE - 1) / GEMM_TF32_TILE, slice = blockIdxY / row_tiles;
            final int row0 = (blockIdxY % row_tiles) * GEMM_TF32_TILE, col0 = blockIdxX * GEMM_TF32_TILE;
            final int k0 = slice * k_slice, k1 = k0 + Math.min(k_slice, k - k0);
            final long C = (long) slice * m * n; // float* C = c + c_off + (long long) slice * m * n;

            float[][][][] acc = new float[4][2][2][]; // per warp: fragment<accumulator> acc[2][2]
            for (int warp = 0; warp < 4; warp++)
                for (int fi = 0; fi < 2; fi++)
                    for (int fj = 0; fj < 2; fj++) acc[warp][fi][fj] = new float[GEMM_TF32_FRAG * GEMM_TF32_FRAG];

            for (int p0 = k0; p0 < k1; p0 += GEMM_TF32_TK) {
                int[] written_a = new int[GEMM_TF32_TILE * GEMM_TF32_LDK], written_b = new int[written_a.length];
                for (int tid = 0; tid < GEMM_TF32_THREADS; tid++) {
                    final boolean tA = transA != 0, tB = transB != 0;
                    final int a_ti0 = tA ? tid % GEMM_TF32_TILE : tid / GEMM_TF32_TK;
                    final int a_tp0 = tA ? tid / GEMM_TF32_TILE : tid % GEMM_TF32_TK;
                    final int a_dti = tA ? 0 : GEMM_TF32_THREADS / GEMM_TF32_TK;
                    final int a_dtp = tA ? GEMM_TF32_THREADS / GEMM_TF32_TILE : 0;
                    final int a_si = tA ? 1 : k, a_sp = tA ? m : 1;
                    final int b_tj0 = tB ? tid / GEMM_TF32_TK : tid % GEMM_TF32_TILE;
                    final int b_tp0 = tB ? tid % GEMM_TF32_TK : tid / GEMM_TF32_TILE;
                    final int b_dtj = tB ? GEMM_TF32_THREADS / GEMM_TF32_TK : 0;
                    final int b_dtp = tB ? 0 : GEMM_TF32_THREADS / GEMM_TF32_TILE;
                    final int b_sp = tB ? 1 : n, b_sj = tB ? k : 1;

                    for (int l = 0; l < GEMM_TF32_TILE * GEMM_TF32_TK / GEMM_TF32_THREADS; l++) {
                        final int ti = a_ti0 + l * a_dti, tp = a_tp0 + l * a_dtp;
                        final int gi = row0 + ti, gp = p0 + tp;
                        tile_a[ti * GEMM_TF32_LDK + tp] =
                                toTf32(gi < m && gp < k1 ? read(a, gi * a_si + gp * a_sp) : 0.0f);
                        written_a[ti * GEMM_TF32_LDK + tp]++;
                        // The claim of the kernel's comment: this is the split of e = tid + 128 l.
                        final int e = tid + l * GEMM_TF32_THREADS;
                        assertEquals(tA ? e % GEMM_TF32_TILE : e / GEMM_TF32_TK, ti);
                        assertEquals(tA ? e / GEMM_TF32_TILE : e % GEMM_TF32_TK, tp);
                    }
                    for (int l = 0; l < GEMM_TF32_TILE * GEMM_TF32_TK / GEMM_TF32_THREADS; l++) {
                        final int tj = b_tj0 + l * b_dtj, tp = b_tp0 + l * b_dtp;
                        final int gj = col0 + tj, gp = p0 + tp;
                        tile_b[tj * GEMM_TF32_LDK + tp] =
                                toTf32(gj < n && gp < k1 ? read(b, gp * b_sp + gj * b_sj) : 0.0f);
                        written_b[tj * GEMM_TF32_LDK + tp]++;
                        final int e = tid + l * GEMM_TF32_THREADS;
                        assertEquals(tB ? e / GEMM_TF32_TK : e % GEMM_TF32_TILE, tj);
                        assertEquals(tB ? e % GEMM_TF32_TK : e / GEMM_TF32_TILE, tp);
                    }
                }
                // __syncthreads(): each cell of both 64 x 16 tiles written exactly once, no padding cell touched.
                for (int r = 0; r < GEMM_TF32_TILE; r++)
                    for (int p = 0; p < GEMM_TF32_LDK; p++) {
                        int expected = p < GEMM_TF32_TK ? 1 : 0;
                        assertEquals(expected, written_a[r * GEMM_TF32_LDK + p], "tile_a[" + r + "][" + p + "] writes");
                        assertEquals(expected, written_b[r * GEMM_TF32_LDK + p], "tile_b[" + r + "][" + p + "] writes");
                    }

                for (int warp = 0; warp < 4; warp++) {
                    final int warp_row = (warp / 2) * GEMM_TF32_WARP_TILE, warp_col = (warp % 2) * GEMM_TF32_WARP_TILE;
                    for (int ks = 0; ks < GEMM_TF32_TK; ks += GEMM_TF32_FRAG_K) {
                        float[][] fa = new float[2][], fb = new float[2][];
                        for (int fi = 0; fi < 2; fi++)
                            fa[fi] = loadMatrixARowMajor(tile_a,
                                    (warp_row + fi * GEMM_TF32_FRAG) * GEMM_TF32_LDK + ks, GEMM_TF32_LDK);
                        for (int fj = 0; fj < 2; fj++)
                            fb[fj] = loadMatrixBColMajor(tile_b,
                                    (warp_col + fj * GEMM_TF32_FRAG) * GEMM_TF32_LDK + ks, GEMM_TF32_LDK);
                        for (int fi = 0; fi < 2; fi++)
                            for (int fj = 0; fj < 2; fj++) mmaSync(acc[warp][fi][fj], fa[fi], fb[fj]);
                    }
                }
                // __syncthreads(): the next step overwrites the tiles; here, fresh garbage for the next step.
                Arrays.fill(tile_a, Float.NaN);
                Arrays.fill(tile_b, Float.NaN);
            }

            for (int warp = 0; warp < 4; warp++) {
                final int warp_row = (warp / 2) * GEMM_TF32_WARP_TILE, warp_col = (warp % 2) * GEMM_TF32_WARP_TILE;
                for (int fi = 0; fi < 2; fi++)
                    for (int fj = 0; fj < 2; fj++)
                        storeMatrixRowMajor(tile_c, (warp_row + fi * GEMM_TF32_FRAG) * GEMM_TF32_LDC
                                + warp_col + fj * GEMM_TF32_FRAG, acc[warp][fi][fj], GEMM_TF32_LDC);
            }
            // __syncthreads()

            for (int tid = 0; tid < GEMM_TF32_THREADS; tid++)
                for (int l = 0; l < GEMM_TF32_TILE * GEMM_TF32_TILE / GEMM_TF32_THREADS; l++) {
                    final int e = tid + l * GEMM_TF32_THREADS;
                    final int ti = e / GEMM_TF32_TILE, tj = e % GEMM_TF32_TILE;
                    final int gi = row0 + ti, gj = col0 + tj;
                    if (gi < m && gj < n) {
                        final int at = gi * n + gj;
                        final float sum = tile_c[ti * GEMM_TF32_LDC + tj];
                        if (Float.isNaN(sum)) fail("epilogue read an unstaged cell tile_c[" + ti + "][" + tj + "]");
                        write(c, C + at, beta == 0.0f ? alpha * sum : alpha * sum + beta * read(c, C + at));
                    }
                }
        }

        /** gemm.cl's gemm_splitk_reduce over all threads. */
        static void splitkReduce(int count, int slices, float alpha, View partial, float beta, View c) {
            for (int e = 0; e < count; e++) {
                float sum = 0.0f;
                for (int s = 0; s < slices; s++) sum += read(partial, (long) s * count + e);
                write(c, e, beta == 0.0f ? alpha * sum : alpha * sum + beta * read(c, e));
            }
        }

        /** wmma::load_matrix_sync of a matrix_a, row_major, 16 x 8: element (r, p) at ptr[r ldm + p]. */
        static float[] loadMatrixARowMajor(float[] shared, int ptr, int ldm) {
            checkWmmaPointer(ptr, ldm);
            float[] f = new float[GEMM_TF32_FRAG * GEMM_TF32_FRAG_K];
            for (int r = 0; r < GEMM_TF32_FRAG; r++)
                for (int p = 0; p < GEMM_TF32_FRAG_K; p++)
                    f[r * GEMM_TF32_FRAG_K + p] = loaded(shared, ptr + r * ldm + p);
            return f;
        }

        /** wmma::load_matrix_sync of a matrix_b, col_major, 8 x 16: element (p, j) at ptr[j ldm + p]. */
        static float[] loadMatrixBColMajor(float[] shared, int ptr, int ldm) {
            checkWmmaPointer(ptr, ldm);
            float[] f = new float[GEMM_TF32_FRAG_K * GEMM_TF32_FRAG];
            for (int p = 0; p < GEMM_TF32_FRAG_K; p++)
                for (int j = 0; j < GEMM_TF32_FRAG; j++) f[p * GEMM_TF32_FRAG + j] = loaded(shared, ptr + j * ldm + p);
            return f;
        }

        /** wmma::mma_sync(acc, a, b, acc): acc += a b, 16 x 8 by 8 x 16, TF32 products summed in float. */
        static void mmaSync(float[] acc, float[] a, float[] b) {
            for (int r = 0; r < GEMM_TF32_FRAG; r++)
                for (int j = 0; j < GEMM_TF32_FRAG; j++) {
                    float s = acc[r * GEMM_TF32_FRAG + j];
                    for (int p = 0; p < GEMM_TF32_FRAG_K; p++)
                        s += a[r * GEMM_TF32_FRAG_K + p] * b[p * GEMM_TF32_FRAG + j];
                    acc[r * GEMM_TF32_FRAG + j] = s;
                }
        }

        /** wmma::store_matrix_sync, mem_row_major, 16 x 16: element (r, j) to ptr[r ldm + j]. */
        static void storeMatrixRowMajor(float[] shared, int ptr, float[] acc, int ldm) {
            checkWmmaPointer(ptr, ldm);
            for (int r = 0; r < GEMM_TF32_FRAG; r++)
                for (int j = 0; j < GEMM_TF32_FRAG; j++) {
                    int at = ptr + r * ldm + j;
                    if (!Float.isNaN(shared[at])) fail("tile_c cell " + at + " stored twice");
                    shared[at] = acc[r * GEMM_TF32_FRAG + j];
                }
        }

        /** wmma's rules: the pointer 256-bit aligned (the arrays are __align__(32)), ldm a multiple of 4 floats. */
        private static void checkWmmaPointer(int ptrFloats, int ldm) {
            assertEquals(0, ptrFloats % 8, "fragment pointer " + ptrFloats + " floats is not 32-byte aligned");
            assertEquals(0, ldm % 4, "ldm " + ldm);
        }

        private static float loaded(float[] shared, int at) {
            float v = shared[at];
            if (Float.isNaN(v)) fail("fragment load of an unwritten or padding cell, shared float " + at);
            return v;
        }

        private static float read(View v, long index) {
            if (index < 0 || index >= v.size()) fail("global read at " + index + " of a view of " + v.size());
            return v.mem()[v.off() + (int) index];
        }

        private static void write(View v, long index, float value) {
            if (index < 0 || index >= v.size()) fail("global write at " + index + " of a view of " + v.size());
            v.mem()[v.off() + (int) index] = value;
        }

        private static float[] nans(int size) {
            float[] f = new float[size];
            Arrays.fill(f, Float.NaN);
            return f;
        }
    }

    // ---- Tf32Gemm's host logic on the emulation ------------------------------------------------------------

    private static final int GUARD = 5;
    private static final float SENTINEL = -12345.5f;

    /** A view at {@code offset} into an array with sentinels before and after it. */
    private static Emulation.View view(int offset, float[] values) {
        float[] mem = new float[offset + values.length + GUARD];
        Arrays.fill(mem, SENTINEL);
        System.arraycopy(values, 0, mem, offset, values.length);
        return new Emulation.View(mem, offset, values.length);
    }

    private static void assertGuards(Emulation.View v) {
        for (int i = 0; i < v.mem().length; i++)
            if (i < v.off() || i >= v.off() + v.size())
                assertEquals(SENTINEL, v.mem()[i], "write outside a view at " + (i - v.off()));
    }

    private static float[] contents(Emulation.View v) {
        return Arrays.copyOfRange(v.mem(), v.off(), v.off() + v.size());
    }

    /**
     * Tf32Gemm.gemm with the emulation as the device: the same checks, the same split-k choice for
     * {@code multiprocessors} SMs and the same geometry (LaunchGeometry of its global and local sizes).
     */
    static float[] emulateGemm(Case t, float[] a, float[] b, float[] c, int multiprocessors) {
        Tf32Gemm.checkSizes(t.m(), t.n(), t.k());
        Emulation.View av = view(3, a), bv = view(1, b), cv = view(6, c); // odd offsets: no alignment to lean on
        int slice = Tf32Gemm.sliceLength(t.m(), t.n(), t.k(), multiprocessors);
        int slices = (t.k() + slice - 1) / slice;
        var tiledGeometry = LaunchGeometry.of(Tf32Gemm.tiles(t.n()) * Tf32Gemm.THREADS, Tf32Gemm.tiles(t.m()) * slices,
                Tf32Gemm.THREADS, 1);
        assertEquals(Tf32Gemm.THREADS, tiledGeometry.threads());
        int tA = t.transA() ? 1 : 0, tB = t.transB() ? 1 : 0;
        if (slices == 1) {
            Emulation.launchTiled(tiledGeometry.gridX(), tiledGeometry.gridY(), tA, tB, t.m(), t.n(), t.k(), t.k(),
                    t.alpha(), av, bv, t.beta(), cv);
        } else {
            Emulation.View partial = view(2, nanArray(slices * t.m() * t.n())); // scratch: garbage
            Emulation.launchTiled(tiledGeometry.gridX(), tiledGeometry.gridY(), tA, tB, t.m(), t.n(), t.k(), slice,
                    1f, av, bv, 0f, partial);
            assertGuards(partial);
            Emulation.splitkReduce(t.m() * t.n(), slices, t.alpha(), partial, t.beta(), cv);
        }
        assertGuards(av);
        assertGuards(bv);
        assertGuards(cv);
        assertTrue(Arrays.equals(a, contents(av)) && Arrays.equals(b, contents(bv)), "inputs changed");
        return contents(cv);
    }

    private static float[] nanArray(int size) {
        float[] f = new float[size];
        Arrays.fill(f, Float.NaN);
        return f;
    }

    /** Inputs of a case: A, B and C (NaN when beta = 0, which must then not be read). */
    static float[][] inputs(Case t, boolean exactValues, long seed) {
        Random r = new Random(seed);
        int m = t.m(), n = t.n(), k = t.k();
        float[] a = exactValues ? exact(r, m * k) : uniform(r, m * k);
        float[] b = exactValues ? exact(r, k * n) : uniform(r, k * n);
        float[] c = exactValues ? exact(r, m * n) : uniform(r, m * n);
        if (t.beta() == 0) Arrays.fill(c, Float.NaN);
        return new float[][] {a, b, c};
    }

    // ---- the checks ----------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void exactValuesGiveTheExactProduct(Case t) {
        float[][] in = inputs(t, true, 11 + t.hashCode());
        float[] got = emulateGemm(t, in[0], in[1], in[2], 132);
        Tolerance.assertClose(t + " exact", ReferenceOps.gemm(t.transA(), t.transB(), t.m(), t.n(), t.k(), t.alpha(),
                in[0], in[1], t.beta(), widen(in[2])), got, 0, 0);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void randomValuesStayWithinTheTf32Bound(Case t) {
        float[][] in = inputs(t, false, 23 + t.hashCode());
        float[] a = in[0], b = in[1], c = in[2];
        float[] got = emulateGemm(t, a, b, c, 132);
        double[] want = ReferenceOps.gemm(t.transA(), t.transB(), t.m(), t.n(), t.k(), t.alpha(), a, b, t.beta(),
                widen(c));
        Tolerance.assertClose(t + " vs exact", want, got,
                tf32Abs(t.k(), t.alpha(), maxAbs(a), maxAbs(b), t.beta(), maxAbs(c)), TF32_REL);
        // Tighter: against the product of the TF32-rounded inputs only float summation error remains, so an
        // emulation that skipped the rounding (or a fragment that mixed up elements) fails here.
        double[] rounded = ReferenceOps.gemm(t.transA(), t.transB(), t.m(), t.n(), t.k(), t.alpha(), tf32(a), tf32(b),
                t.beta(), widen(c));
        Tolerance.assertClose(t + " vs TF32 inputs", rounded, got,
                Math.abs(t.alpha()) * t.k() * (t.k() + 16.0) * 0x1p-23 + Math.abs(t.beta()) * 0x1p-22, 0x1p-22);
    }

    @Test
    void tf32RoundingIsVisibleToTheChecks() {
        // The bound must not be so loose that skipping TF32 is indistinguishable: with k = 47 the rounding error of
        // some element exceeds the tight tolerance of randomValuesStayWithinTheTf32Bound.
        Case t = new Case(false, false, 130, 65, 47, 1f, 0f);
        float[][] in = inputs(t, false, 5);
        double[] exactInputs = ReferenceOps.gemm(false, false, 130, 65, 47, 1f, in[0], in[1], 0f, widen(in[2]));
        double[] rounded = ReferenceOps.gemm(false, false, 130, 65, 47, 1f, tf32(in[0]), tf32(in[1]), 0f, widen(in[2]));
        double worst = 0;
        for (int i = 0; i < rounded.length; i++) worst = Math.max(worst, Math.abs(rounded[i] - exactInputs[i]));
        assertTrue(worst > 47 * (47 + 16.0) * 0x1p-23, "TF32 changed the product by only " + worst);
    }

    @Test
    void splitKMatchesAcrossSlicesIncludingAShortLastOne() {
        // 65 x 33 has 2 tiles: on 132 SMs k = 1000 splits into slices of 336, 336 and 328 (not a multiple of 16).
        assertEquals(336, Tf32Gemm.sliceLength(65, 33, 1000, 132));
        for (int tr = 0; tr < 4; tr++)
            for (float beta : new float[] {0f, 0.5f}) {
                Case t = new Case(tr / 2 == 1, tr % 2 == 1, 65, 33, 1000, -1.5f, beta);
                float[][] in = inputs(t, true, 31 + tr);
                Tolerance.assertClose(t + " split", ReferenceOps.gemm(t.transA(), t.transB(), 65, 33, 1000, t.alpha(),
                        in[0], in[1], beta, widen(in[2])), emulateGemm(t, in[0], in[1], in[2], 132), 0, 0);
            }
    }

    @Test
    void sliceLengthSplitsOnlyShortWideOutputs() {
        // MoCo's InfoNCE on an H100 (132 SMs): the logits (4 x 1024 tiles) run unsplit, dq [256, 128] (8 tiles,
        // k = 65536) splits into 66 slices of 1008 (528 blocks: 4 per SM); a big square GEMM never splits.
        assertEquals(128, Tf32Gemm.sliceLength(256, 65536, 128, 132));
        assertEquals(1008, Tf32Gemm.sliceLength(256, 128, 65536, 132));
        assertEquals(66, (65536 + 1008 - 1) / 1008);
        assertEquals(4096, Tf32Gemm.sliceLength(4096, 4096, 4096, 132));
        assertEquals(300, Tf32Gemm.sliceLength(1, 1, 300, 132)); // shorter than two slices of 256
        // The caps bind only with more SMs than exist today (hence the made-up counts). The grid's y limit: 1000
        // tiles of rows allow 65 slices (65,000 rows of blocks), not min(k / 256, 400) = 117.
        assertEquals(464, Tf32Gemm.sliceLength(64_000, 1, 30_000, 100_000));
        // The partial outputs: 4 slices of 20000 x 20000 fit an int, 3 of 40000 x 40000 would not.
        assertEquals(256, Tf32Gemm.sliceLength(20_000, 20_000, 1024, 200_000));
        assertEquals(1024, Tf32Gemm.sliceLength(40_000, 40_000, 1024, 200_000));
    }

    @Test
    void sizesTheKernelCannotIndexAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Tf32Gemm.checkSizes(0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> Tf32Gemm.checkSizes(1, 1, -3));
        assertThrows(IllegalArgumentException.class, () -> Tf32Gemm.checkSizes(65536, 1, 32768)); // m k = 2^31
        assertThrows(IllegalArgumentException.class, () -> Tf32Gemm.checkSizes(1, Integer.MAX_VALUE - 10, 1));
        assertThrows(IllegalArgumentException.class, () -> Tf32Gemm.checkSizes(64 * 65535 + 1, 1, 1)); // grid y
        Tf32Gemm.checkSizes(64 * 65535, 1, 1);
        Tf32Gemm.checkSizes(46_340, 46_340, 1); // m n just under 2^31
    }

    @Test
    void toTf32RoundsToNearestTiesAwayFromZero() {
        assertEquals(1f, toTf32(1f));
        assertEquals(1f + 0x1p-10f, toTf32(1f + 0x1p-11f)); // a tie: away from zero
        assertEquals(-1f - 0x1p-10f, toTf32(-1f - 0x1p-11f));
        assertEquals(1f, toTf32(1f + 0x1p-11f - 0x1p-23f)); // just below the tie: down
        assertEquals(1f + 0x1p-10f, toTf32(1f + 0x1p-11f + 0x1p-23f));
        assertEquals(2f, toTf32(2f - 0x1p-23f)); // carry into the exponent
        assertEquals(0f, toTf32(0f));
        assertEquals(Float.POSITIVE_INFINITY, toTf32(Float.POSITIVE_INFINITY));
        assertTrue(Float.isNaN(toTf32(Float.NaN)));
        float third = toTf32(1f / 3);
        assertEquals(0, Float.floatToRawIntBits(third) & 0x1FFF, "low 13 bits cleared");
        assertTrue(Math.abs(third - 1.0 / 3) <= 0x1p-11 / 3 * 1.0001);
    }

    private static float[] tf32(float[] v) {
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++) r[i] = toTf32(v[i]);
        return r;
    }
}
