package dev.jmoco.backend.cpu;

import static dev.jmoco.backend.cpu.CpuInfoNceKernels.ALPHA;
import static dev.jmoco.backend.cpu.CpuInfoNceKernels.MAX;
import static dev.jmoco.backend.cpu.CpuInfoNceKernels.POS;
import static dev.jmoco.backend.cpu.CpuInfoNceKernels.RANK;
import static dev.jmoco.backend.cpu.CpuInfoNceKernels.STATE_ARRAYS;
import static dev.jmoco.backend.cpu.CpuInfoNceKernels.SUM;

import java.util.Arrays;

/**
 * MoCo's InfoNCE loss with its gradients in one pass over the queue, after flash attention: the n x K logits
 * are never stored. The rows of q are cut into panels of at most {@link #MAX_PANEL} rows, one task per panel
 * (at least one per thread). A panel streams the queue in blocks of {@link #BLOCK} keys (128 KB at c = 128,
 * so a block and the panel's working set stay in L2); per block it computes the logits, folds them into an
 * online softmax (running max, running sum of exponentials, both rescaled when the max grows), and adds the
 * softmax-weighted keys into a per-row accumulator rescaled the same way. At the end, per row i with running
 * max m, e0 = exp(pos_i / t - m) and S = the running sum over the negatives:
 * <pre>
 *   loss_i = log(e0 + S) - (pos_i / t - m)
 *   dq_i   = g (acc_i - S k_i) / (e0 + S)        g = gradScale / (n t)
 *   dk_i   = -g S / (e0 + S) q_i                 (that is g (p_i0 - 1) q_i)
 * </pre>
 * The positive is kept apart from the negatives so that p_i0 - 1 = -S / (e0 + S) is computed without the
 * cancellation of 1 - p when the model is confident. The three per-block steps are {@link CpuInfoNceKernels}.
 */
final class CpuInfoNce {
    /** Queue keys per block. */
    static final int BLOCK = 256;
    /** Query rows per panel, at most (its transposed queries, accumulator and logits block fit L2). */
    static final int MAX_PANEL = 128;
    /** Multiply-adds per logits pass below which everything stays on the caller's thread. */
    private static final long SERIAL_WORK = 1L << 20;

    private final CpuBackend backend;
    private final Parallel parallel;
    private final CpuInfoNceKernels kernels;

    /** Uses the Vector API kernels when the module jdk.incubator.vector is present, else plain Java + GEMM. */
    CpuInfoNce(CpuBackend backend, Parallel parallel, CpuGemm gemm) {
        this(backend, parallel, ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
                ? CpuInfoNceVectorKernels.create() : new CpuInfoNceScalarKernels(backend, gemm));
    }

    CpuInfoNce(CpuBackend backend, Parallel parallel, CpuInfoNceKernels kernels) {
        this.backend = backend;
        this.parallel = parallel;
        this.kernels = kernels;
    }

    void run(int n, int c, int kq, float t, CpuBuffer q, CpuBuffer k, CpuBuffer queue, float gradScale,
             CpuBuffer stats, CpuBuffer dq, CpuBuffer dk) {
        int threads = parallel.threads();
        int panels = Math.min(n, roundUp(Math.max(threads, ceilDiv(n, MAX_PANEL)), threads));
        int r = roundUp(ceilDiv(n, panels), kernels.rowQuantum());
        long scratch = (long) (2 * c + BLOCK + STATE_ARRAYS) * r;
        int grain = (long) n * kq * c < SERIAL_WORK ? panels : 1;
        Panel job = new Panel(n, c, kq, t, q, k, queue, gradScale / ((double) n * t), dq, dk);
        // Per-chunk scratch is taken up front, so the pool sees the same requests every step.
        try (CpuBuffer perRow = backend.scratch(2L * n);
             CpuBuffer all = backend.scratch(parallel.chunks(panels, grain) * scratch)) {
            parallel.forChunks(panels, grain, (chunk, p0, p1) -> {
                CpuBuffer work = CpuConv.part(all, chunk, scratch);
                for (int p = p0; p < p1; p++) {
                    int row0 = (int) ((long) n * p / panels), row1 = (int) ((long) n * (p + 1) / panels);
                    job.run(row0, row1 - row0, work.array, work.offset, perRow.array);
                }
            });
            CpuLosses.writeStats(perRow.array, n, stats);
        }
    }

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }

    private static int roundUp(int a, int b) { return ceilDiv(a, b) * b; }

    /** One call's arguments; {@link #run} processes one panel of rows. */
    private final class Panel {
        private final int n, c, kq;
        private final float invT;
        private final float[] q, k, queue, dq, dk;
        private final int qo, ko, queueO, dqo, dko;
        private final double g;

        Panel(int n, int c, int kq, float t, CpuBuffer q, CpuBuffer k, CpuBuffer queue, double g, CpuBuffer dq,
              CpuBuffer dk) {
            this.n = n; this.c = c; this.kq = kq; this.invT = 1 / t; this.g = g;
            this.q = q.array; this.qo = q.offset;
            this.k = k.array; this.ko = k.offset;
            this.queue = queue.array; this.queueO = queue.offset;
            this.dq = dq.array; this.dqo = dq.offset;
            this.dk = dk == null ? null : dk.array; this.dko = dk == null ? 0 : dk.offset;
        }

        /** Rows [row0, row0 + rows) with scratch {@code w} from {@code wo}; writes their loss and rank into perRow. */
        void run(int row0, int rows, float[] w, int wo, float[] perRow) {
            int r = roundUp(rows, kernels.rowQuantum());
            int qt = wo, acc = wo + c * r, st = wo + 2 * c * r, state = wo + (2 * c + BLOCK) * r;
            for (int cc = 0; cc < c; cc++) {
                for (int i = 0; i < rows; i++) w[qt + cc * r + i] = q[qo + (row0 + i) * c + cc];
                for (int i = rows; i < r; i++) w[qt + cc * r + i] = 0;
            }
            Arrays.fill(w, acc, acc + c * r, 0);
            Arrays.fill(w, state, state + STATE_ARRAYS * r, 0);
            for (int i = 0; i < rows; i++) {
                int qi = qo + (row0 + i) * c, ki = ko + (row0 + i) * c;
                float dot = 0;
                for (int cc = 0; cc < c; cc++) dot += q[qi + cc] * k[ki + cc];
                w[state + POS * r + i] = dot;
                w[state + MAX * r + i] = dot * invT;
            }
            for (int kb = 0; kb < kq; kb += BLOCK) {
                int nb = Math.min(BLOCK, kq - kb), kOff = queueO + kb * c;
                kernels.logits(r, c, nb, w, qt, queue, kOff, w, st);
                kernels.softmax(r, nb, invT, w, st, w, state);
                kernels.accumulate(r, c, nb, queue, kOff, w, st, w, state + ALPHA * r, w, acc);
            }
            for (int i = 0; i < rows; i++) {
                int row = row0 + i;
                double posMinusMax = w[state + POS * r + i] * (double) invT - w[state + MAX * r + i];
                double e0 = Math.exp(posMinusMax), s = w[state + SUM * r + i], l = e0 + s;
                double ga = g / l, gk = -g * s / l;
                for (int cc = 0; cc < c; cc++)
                    dq[dqo + row * c + cc] = (float) (ga * w[acc + cc * r + i] + gk * k[ko + row * c + cc]);
                if (dk != null)
                    for (int cc = 0; cc < c; cc++) dk[dko + row * c + cc] = (float) (gk * q[qo + row * c + cc]);
                perRow[row] = (float) (Math.log(l) - posMinusMax);
                perRow[n + row] = w[state + RANK * r + i];
            }
        }
    }
}
