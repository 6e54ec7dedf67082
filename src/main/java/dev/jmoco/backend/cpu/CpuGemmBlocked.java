package dev.jmoco.backend.cpu;

/**
 * The pure-Java GEMM engine (after BLIS / Goto): a rectangle of C (one thread's share, see {@link CpuGemm})
 * loops over column blocks of nc, depth blocks of kc and row blocks of mc, packs op(A) [mc x kc] and
 * op(B) [kc x nc] into contiguous micro-panels (packing absorbs the transposes and zero-pads ragged edges),
 * and sweeps the {@link CpuGemmKernel} over the block, each B micro-panel against every A micro-panel of the row block.
 * When the rectangle is a single row block and B is not transposed, a packed B would be read only once, so
 * the kernel reads B in place instead (the common case in convolutions, where m is the channel count).
 * Pack buffers live per thread and only grow, so a warm call allocates nothing.
 * <p>
 * Block sizes were measured on the project's 2-core Zen 4 (1 MiB L2 per core) at 1024^3 with the 4 x 64
 * kernel: a deep kc = 512 (fewer passes over each C tile) with a 128 KiB A block (mc = 64) beat kc = 128..384
 * and mc = 32..192 by 5-15%. k is cut into equal depth blocks, so no thin remainder block is left.
 */
final class CpuGemmBlocked implements CpuGemm.Engine {
    private static final int KC = 512, MC_TARGET = 64, NC_TARGET = 1024;
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

    /** Columns of the kernel's tile. */
    int tileColumns() { return nr; }

    @Override
    public void block(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, int ao, float[] b, int bo,
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
                    packA(ta, a, ao, m, k, alpha, ic, mcb, pc, kcb, pa);
                    for (int jr = 0; jr < ncb; jr += nr) {
                        int cols = Math.min(nr, ncb - jr);
                        float[] bs = pb;
                        int bOff = packB ? jr * kcb : 0, ldb = nr;
                        if (!packB && cols == nr) { bs = b; bOff = bo + pc * n + jc + jr; ldb = n; }
                        for (int ir = 0; ir < mcb; ir += mr) {
                            int rows = Math.min(mr, mcb - ir);
                            int ci = co + (ic + ir) * n + jc + jr;
                            if (rows == mr && cols == nr) {
                                kernel.run(kcb, pa, ir * kcb, bs, bOff, ldb, betaBlock, c, ci, n);
                            } else { // ragged edge: full tile into scratch, then the valid part into C
                                kernel.run(kcb, pa, ir * kcb, bs, bOff, ldb, 0f, tile, 0, nr);
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

    /** alpha op(A)[ic..ic+mcb, pc..pc+kcb] into micro-panels of mr rows, each stored k-step by k-step. */
    private void packA(boolean ta, float[] a, int ao, int m, int k, float alpha, int ic, int mcb, int pc, int kcb,
                       float[] dst) {
        for (int ir = 0; ir < mcb; ir += mr) {
            int rows = Math.min(mr, mcb - ir), panel = ir * kcb;
            if (ta) { // A stored [k, m]: a row of op(A)'s column is contiguous
                for (int p = 0; p < kcb; p++) {
                    int src = ao + (pc + p) * m + ic + ir, d = panel + p * mr;
                    for (int i = 0; i < rows; i++) dst[d + i] = alpha * a[src + i];
                    for (int i = rows; i < mr; i++) dst[d + i] = 0f;
                }
            } else {
                for (int i = 0; i < rows; i++) {
                    int src = ao + (ic + ir + i) * k + pc;
                    for (int p = 0; p < kcb; p++) dst[panel + p * mr + i] = alpha * a[src + p];
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
