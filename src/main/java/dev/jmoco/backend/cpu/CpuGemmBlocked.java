package dev.jmoco.backend.cpu;

/**
 * The pure-Java GEMM driver (after BLIS / Goto): C is cut into one rectangle per thread; each rectangle loops
 * over column blocks of nc, depth blocks of kc and row blocks of mc, packs op(A) [mc x kc] and op(B) [kc x nc]
 * into contiguous micro-panels (packing absorbs the transposes and zero-pads ragged edges), and sweeps the
 * {@link CpuGemmKernel} over the block, each B micro-panel against every A micro-panel of the row block.
 * When the rectangle is a single row block and B is not transposed, a packed B would be read only once, so
 * the kernel reads B in place instead (the common case in convolutions, where m is the channel count).
 * Pack buffers live per thread and only grow, so a warm call allocates nothing.
 * <p>
 * Block sizes were measured on the project's 2-core Zen 4 (1 MiB L2 per core) at 1024^3 with the 4 x 64
 * kernel: a deep kc = 512 (fewer passes over each C tile) with a 128 KiB A block (mc = 64) beat kc = 128..384
 * and mc = 32..192 by 5-15%. k is cut into equal depth blocks, so no thin remainder block is left.
 */
final class CpuGemmBlocked {
    private static final int KC = 512, MC_TARGET = 64, NC_TARGET = 1024;
    /** Below this many multiply-adds a GEMM stays on the calling thread (fork/join costs about 10-20 us). */
    private static final long PARALLEL_MIN_MACS = 1L << 18;
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final CpuGemmKernel kernel;
    private final int mr, nr, mc, nc;

    CpuGemmBlocked(CpuGemmKernel kernel) {
        this.kernel = kernel;
        this.mr = kernel.mr;
        this.nr = kernel.nr;
        this.mc = Math.max(mr, MC_TARGET / mr * mr);
        this.nc = Math.max(nr, NC_TARGET / nr * nr);
    }

    String name() { return kernel.name(); }

    /** Row-major GEMM with packed leading dims (Backend#gemm); {@code parallel} null means the calling thread. */
    void gemm(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, int ao, float[] b, int bo,
              float beta, float[] c, int co, Parallel parallel) {
        int threads = parallel == null ? 1 : parallel.threads();
        if (threads == 1 || (long) m * n * k < PARALLEL_MIN_MACS) {
            block(ta, tb, m, n, k, alpha, a, ao, b, bo, beta, c, co, 0, m, 0, n);
            return;
        }
        // Split C into a tm x tn grid of whole micro-tiles that keeps every thread's share as even as possible.
        int mp = (m + mr - 1) / mr, np = (n + nr - 1) / nr;
        int tm = 1, tn = 1;
        long best = Long.MAX_VALUE;
        for (int i = 1; i <= threads; i++) {
            if (threads % i != 0) continue;
            int j = threads / i;
            long cost = (long) ceilDiv(mp, i) * mr * ceilDiv(np, j) * nr;
            if (cost < best) { best = cost; tm = i; tn = j; }
        }
        int gm = tm, gn = tn;
        parallel.forRange(gm * gn, 1, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                int ti = t / gn, tj = t % gn;
                int r0 = Math.min(m, share(mp, ti, gm) * mr), r1 = Math.min(m, share(mp, ti + 1, gm) * mr);
                int c0 = Math.min(n, share(np, tj, gn) * nr), c1 = Math.min(n, share(np, tj + 1, gn) * nr);
                if (r1 > r0 && c1 > c0) block(ta, tb, m, n, k, alpha, a, ao, b, bo, beta, c, co, r0, r1, c0, c1);
            }
        });
    }

    /** C[r0..r1, c0..c1] on the calling thread. */
    private void block(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, int ao, float[] b, int bo,
                       float beta, float[] c, int co, int r0, int r1, int c0, int c1) {
        Scratch s = SCRATCH.get();
        int kc = ceilDiv(k, ceilDiv(k, KC)); // equal depth blocks: no thin remainder block (k = 576 -> 2 x 288)
        float[] pa = s.a(roundUp(Math.min(mc, r1 - r0), mr) * kc);
        float[] pb = s.b(roundUp(Math.min(nc, c1 - c0), nr) * kc);
        float[] tile = s.tile(mr * nr);
        // With a single row block, a packed B block would be read once: read B in place instead (row stride n).
        boolean packB = tb || r1 - r0 > mc;
        for (int jc = c0; jc < c1; jc += nc) {
            int ncb = Math.min(nc, c1 - jc), ragged = ncb / nr * nr;
            for (int pc = 0; pc < k; pc += kc) {
                int kcb = Math.min(kc, k - pc);
                float betaBlock = pc == 0 ? beta : 1f; // later depth blocks accumulate onto the first
                if (packB) packB(tb, b, bo, n, k, pc, kcb, jc, ncb, pb);
                else if (ragged < ncb) packB(false, b, bo, n, k, pc, kcb, jc + ragged, ncb - ragged, pb);
                for (int ic = r0; ic < r1; ic += mc) {
                    int mcb = Math.min(mc, r1 - ic);
                    packA(ta, a, ao, m, k, ic, mcb, pc, kcb, pa);
                    for (int jr = 0; jr < ncb; jr += nr) {
                        int cols = Math.min(nr, ncb - jr);
                        float[] bs = pb;
                        int bOff = packB ? jr * kcb : 0, ldb = nr;
                        if (!packB && cols == nr) { bs = b; bOff = bo + pc * n + jc + jr; ldb = n; }
                        for (int ir = 0; ir < mcb; ir += mr) {
                            int rows = Math.min(mr, mcb - ir);
                            int ci = co + (ic + ir) * n + jc + jr;
                            if (rows == mr && cols == nr) {
                                kernel.run(kcb, pa, ir * kcb, bs, bOff, ldb, alpha, betaBlock, c, ci, n);
                            } else { // ragged edge: full tile into scratch, then the valid part into C
                                kernel.run(kcb, pa, ir * kcb, bs, bOff, ldb, alpha, 0f, tile, 0, nr);
                                mergeEdge(tile, rows, cols, betaBlock, c, ci, n);
                            }
                        }
                    }
                }
            }
        }
    }

    private void mergeEdge(float[] tile, int rows, int cols, float beta, float[] c, int ci, int ldc) {
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) {
                int x = ci + i * ldc + j;
                c[x] = beta == 0 ? tile[i * nr + j] : tile[i * nr + j] + beta * c[x];
            }
    }

    /** op(A)[ic..ic+mcb, pc..pc+kcb] into micro-panels of mr rows, each stored k-step by k-step. */
    private void packA(boolean ta, float[] a, int ao, int m, int k, int ic, int mcb, int pc, int kcb, float[] dst) {
        for (int ir = 0; ir < mcb; ir += mr) {
            int rows = Math.min(mr, mcb - ir), panel = ir * kcb;
            if (ta) { // A stored [k, m]: a row of op(A)'s column is contiguous
                for (int p = 0; p < kcb; p++) {
                    int src = ao + (pc + p) * m + ic + ir, d = panel + p * mr;
                    for (int i = 0; i < rows; i++) dst[d + i] = a[src + i];
                    for (int i = rows; i < mr; i++) dst[d + i] = 0f;
                }
            } else {
                for (int i = 0; i < rows; i++) {
                    int src = ao + (ic + ir + i) * k + pc;
                    for (int p = 0; p < kcb; p++) dst[panel + p * mr + i] = a[src + p];
                }
                for (int i = rows; i < mr; i++)
                    for (int p = 0; p < kcb; p++) dst[panel + p * mr + i] = 0f;
            }
        }
    }

    /** op(B)[pc..pc+kcb, jc..jc+ncb] into micro-panels of nr columns, each stored k-step by k-step. */
    private void packB(boolean tb, float[] b, int bo, int n, int k, int pc, int kcb, int jc, int ncb, float[] dst) {
        for (int jr = 0; jr < ncb; jr += nr) {
            int cols = Math.min(nr, ncb - jr), panel = jr * kcb;
            if (tb) { // B stored [n, k]
                for (int j = 0; j < cols; j++) {
                    int src = bo + (jc + jr + j) * k + pc;
                    for (int p = 0; p < kcb; p++) dst[panel + p * nr + j] = b[src + p];
                }
                for (int j = cols; j < nr; j++)
                    for (int p = 0; p < kcb; p++) dst[panel + p * nr + j] = 0f;
            } else {
                for (int p = 0; p < kcb; p++) {
                    int src = bo + (pc + p) * n + jc + jr, d = panel + p * nr;
                    System.arraycopy(b, src, dst, d, cols);
                    for (int j = cols; j < nr; j++) dst[d + j] = 0f;
                }
            }
        }
    }

    /** Start of part {@code i} of {@code parts} equal parts of {@code total}. */
    private static int share(int total, int i, int parts) { return (int) ((long) total * i / parts); }

    private static int ceilDiv(int x, int y) { return (x + y - 1) / y; }

    private static int roundUp(int x, int y) { return ceilDiv(x, y) * y; }

    /** Per-thread pack buffers that only grow. */
    private static final class Scratch {
        private float[] a = new float[0], b = new float[0], tile = new float[0];

        float[] a(int size) { return a.length >= size ? a : (a = new float[size]); }
        float[] b(int size) { return b.length >= size ? b : (b = new float[size]); }
        float[] tile(int size) { return tile.length >= size ? tile : (tile = new float[size]); }
    }
}
