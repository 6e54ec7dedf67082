package dev.jmoco.backend.gpu;

/**
 * MoCo's InfoNCE forward + backward by rows, the route for a device with a fast GEMM (cuBLAS): the n x K
 * logits are computed by a caller-supplied GEMM into one scratch matrix, one kernel per row (infonce_rows in
 * kernels/losses.cl: online max and sum with work-group reductions, then the gradient written over the
 * logits in place) turns them into the gradient with respect to the raw dot products, and a second GEMM adds
 * that gradient times the queue into dq:
 * <pre>
 *   neg  = q . queue^T                 gemm(false, true,  n, K, c, 1, q,   queue, 0, neg)
 *   infonce_rows                       neg &lt;- g softmax, dq = g (p_0 - 1) k, dk = g (p_0 - 1) q, (loss, rank)
 *   dq  += neg . queue                 gemm(false, false, n, c, K, 1, neg, queue, 1, dq)
 *   losses_stats                       stats = [loss, acc@1, acc@5]
 * </pre>
 * with g = gradScale / (n t). Semantics, rank rule included, are those of {@code Backend.infoNce}; the fused
 * route ({@link InfoNceKernels}) needs no n x K memory, this one needs {@code 4 n K} bytes of scratch
 * ({@link #fits}).
 *
 * <p>infonce_rows reads a row as float4 when its start is 16-byte aligned. The scratch is a root buffer
 * from {@link KernelRuntime#scratch} (offset 0), whose base is at least 16-byte aligned on both runtimes
 * (cuMemAlloc: 256 bytes; OpenCL: CL_DEVICE_MEM_BASE_ADDR_ALIGN, at least 128 bytes), so with K a multiple of
 * 4 every row is; other rows take the kernel's scalar path (correct, slower).
 */
public final class InfoNceRows {
    /**
     * A GEMM on device buffers with the semantics of {@code Backend.gemm} (row-major, packed leading
     * dimensions, C not read when beta = 0), enqueued on the runtime's one in-order queue (stream), so that it
     * runs between the kernels it is queued between.
     */
    @FunctionalInterface
    public interface Gemm {
        void gemm(boolean transA, boolean transB, int m, int n, int k,
                  float alpha, DeviceBuffer a, DeviceBuffer b, float beta, DeviceBuffer c);
    }

    /** Work-group size of infonce_rows (INFONCE_ROWS_THREADS in losses.cl). */
    static final int THREADS = KernelGeometry.INFONCE_ROWS_THREADS;
    /**
     * The largest logits matrix this route allocates, in floats (256 MiB): MoCo's n = 256, K = 65536 needs
     * 64 MiB, and up to n = 1024 at that K fits. Past it the fused route, which needs no such buffer, is the
     * better use of device memory.
     */
    static final long MAX_LOGITS = 1L << 26;

    private final KernelRuntime rt;

    public InfoNceRows(KernelRuntime rt) { this.rt = rt; }

    /**
     * Whether {@link #run} takes a problem of n rows and K queue keys: the n x K logits plus the 2n per-row
     * (loss, rank) slots fit the kernel's int indexing and {@link #MAX_LOGITS}.
     */
    public static boolean fits(int n, int kq) {
        long logits = (long) n * kq;
        return n > 0 && kq > 0 && logits <= MAX_LOGITS && logits + 2L * n <= Integer.MAX_VALUE;
    }

    /**
     * {@code Backend.infoNce} (arguments already checked by the caller; {@code dk} may be null) with
     * {@code gemm} for the two products. Throws UnsupportedOperationException where the problem does not
     * {@link #fits} or the device runs work-groups smaller than {@link #THREADS}.
     */
    public void run(int n, int c, int kq, float t, DeviceBuffer q, DeviceBuffer k, DeviceBuffer queue,
                    float gradScale, DeviceBuffer stats, DeviceBuffer dq, DeviceBuffer dk, Gemm gemm) {
        if (rt.maxWorkGroupSize() < THREADS)
            throw new UnsupportedOperationException("infoNce by rows needs work-groups of " + THREADS
                    + " threads; this device offers " + rt.maxWorkGroupSize());
        if (!fits(n, kq))
            throw new UnsupportedOperationException("infoNce by rows: n = " + n + ", K = " + kq
                    + " exceeds its logits matrix of at most " + MAX_LOGITS + " floats");
        long logits = (long) n * kq;
        // One pooled request per call; neg first, so that it starts at the root's aligned base.
        try (DeviceBuffer scratch = rt.scratch(logits + 2L * n)) {
            DeviceBuffer neg = scratch.slice(0, logits), rowStats = scratch.slice(logits, 2L * n);
            gemm.gemm(false, true, n, kq, c, 1f, q, queue, 0f, neg);
            rt.launch("infonce_rows").arg(q).arg(k).arg(n).arg(c).arg(kq).arg(1 / t).arg(gradScale / (n * t))
                    .arg(neg).arg(dq).arg(dk == null ? 0 : 1).arg(dk == null ? dq : dk).arg(rowStats)
                    .run((long) n * THREADS, THREADS);
            gemm.gemm(false, false, n, c, kq, 1f, neg, queue, 1f, dq);
            LossKernels.reduceStats(rt, rowStats, n, stats);
        }
    }
}
