package dev.jmoco.backend.cpu;

/**
 * A register-blocked micro-kernel: one {@code mr x nr} tile of C from a packed A micro-panel ({@code kc} steps
 * of {@code mr} floats) and a B micro-panel of {@code kc} rows of {@code nr} floats, {@code ldb} apart (nr when
 * packed, the row length when B is read in place). {@link CpuGemmBlocked} does the packing and the cache
 * blocking around it.
 */
abstract class CpuGemmKernel {
    /** Rows of the tile (broadcast from A). */
    final int mr;
    /** Columns of the tile (loaded from B as vectors). */
    final int nr;

    CpuGemmKernel(int mr, int nr) { this.mr = mr; this.nr = nr; }

    /** For reports, e.g. "vector-api (512-bit)". */
    abstract String name();

    /**
     * Writes c[co + i ldc + j] = (A B)[i][j] + beta c[...] for the full tile (alpha is already folded into the
     * packed A); with beta = 0, C is not read.
     */
    abstract void run(int kc, float[] a, int ao, float[] b, int bo, int ldb, float beta, float[] c, int co, int ldc);
}
