package dev.jmoco.backend.cpu;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.BatchNormShape;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.Checks;
import dev.jmoco.backend.ConvShape;
import dev.jmoco.backend.PoolShape;
import dev.jmoco.backend.PoolStats;

import java.util.Arrays;

/**
 * The pure-Java backend: the reference every other backend is checked against, and the default that runs
 * anywhere. This class checks arguments and unwraps buffers; the arithmetic lives in one kernel class per
 * op family. Work is spread over all cores by {@link Parallel}; storage comes from {@link CpuPool}.
 */
public final class CpuBackend implements Backend {
    final CpuPool pool = new CpuPool();
    final Parallel parallel;
    private final CpuGemm gemm;
    private final CpuConv conv;
    private final CpuElementwise elementwise;
    private final CpuPooling pooling;
    private final CpuBatchNorm batchNorm;
    private final CpuRows rows;
    private final CpuLosses losses;
    private final CpuUpdates updates;

    /** A backend using every core. */
    public CpuBackend() { this(Runtime.getRuntime().availableProcessors()); }

    /** A backend using {@code threads} threads. */
    public CpuBackend(int threads) {
        parallel = new Parallel(threads);
        gemm = new CpuGemm(parallel);
        conv = new CpuConv(this, parallel, gemm);
        elementwise = new CpuElementwise(parallel);
        pooling = new CpuPooling(parallel);
        batchNorm = new CpuBatchNorm(parallel);
        rows = new CpuRows(parallel);
        losses = new CpuLosses(this, parallel, gemm);
        updates = new CpuUpdates(parallel);
    }

    @Override public String name() { return "cpu"; }

    /** Threads this backend spreads work over. */
    public int threads() { return parallel.threads(); }

    /** Whether GEMM runs on the Vector API (jdk.incubator.vector present) or a system BLAS; for reports. */
    public String gemmImplementation() { return gemm.implementation(); }

    // ---- memory -------------------------------------------------------------------------------------------

    @Override
    public Buffer allocate(long size) {
        if (size < 0 || size > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("cpu: cannot allocate " + size + " floats (limit "
                    + (Integer.MAX_VALUE - 8) + ")");
        return new CpuBuffer(this, pool.acquire((int) size), 0, (int) size, true);
    }

    /** A scratch root buffer for kernels; the caller closes it. */
    CpuBuffer scratch(long size) { return (CpuBuffer) allocate(size); }

    @Override
    public void upload(float[] src, int srcOffset, Buffer dst) {
        CpuBuffer d = cpu("upload", dst);
        if (srcOffset < 0 || srcOffset + d.size() > src.length)
            throw new IllegalArgumentException("upload: source of " + src.length + " floats has no "
                    + d.size() + " floats at offset " + srcOffset);
        System.arraycopy(src, srcOffset, d.array, d.offset, (int) d.size());
    }

    @Override
    public void download(Buffer src, float[] dst, int dstOffset) {
        CpuBuffer s = cpu("download", src);
        if (dstOffset < 0 || dstOffset + s.size() > dst.length)
            throw new IllegalArgumentException("download: destination of " + dst.length + " floats has no room for "
                    + s.size() + " floats at offset " + dstOffset);
        System.arraycopy(s.array, s.offset, dst, dstOffset, (int) s.size());
    }

    @Override
    public void copy(Buffer src, Buffer dst) {
        Checks.size("copy", "dst", dst, src.size());
        CpuBuffer s = cpu("copy", src), d = cpu("copy", dst);
        // Chunked over all cores: one core cannot saturate memory bandwidth (and copy is the EMA's yardstick).
        parallel.forRange((int) s.size(), 1 << 16,
                (i0, i1) -> System.arraycopy(s.array, s.offset + i0, d.array, d.offset + i0, i1 - i0));
    }

    @Override
    public void fill(Buffer dst, float value) {
        CpuBuffer d = cpu("fill", dst);
        parallel.forRange((int) d.size(), 1 << 16, (i0, i1) -> Arrays.fill(d.array, d.offset + i0, d.offset + i1, value));
    }

    @Override public void synchronize() {}

    @Override public PoolStats poolStats() { return pool.stats(); }

    // ---- dense algebra ------------------------------------------------------------------------------------

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k,
                     float alpha, Buffer a, Buffer b, float beta, Buffer c) {
        Checks.positive("gemm", "m", m, "n", n, "k", k);
        Checks.size("gemm", transA ? "A [k, m]" : "A [m, k]", a, (long) m * k);
        Checks.size("gemm", transB ? "B [n, k]" : "B [k, n]", b, (long) k * n);
        Checks.size("gemm", "C [m, n]", c, (long) m * n);
        gemm.gemm(transA, transB, m, n, k, alpha, cpu("gemm", a), cpu("gemm", b), beta, cpu("gemm", c));
    }

    @Override
    public void add(float alpha, Buffer x, float beta, Buffer y, Buffer out) {
        Checks.size("add", "y", y, x.size());
        Checks.size("add", "out", out, x.size());
        elementwise.add(alpha, cpu("add", x), beta, cpu("add", y), cpu("add", out));
    }

    @Override
    public void addBias(int rows, int cols, Buffer bias, Buffer y) {
        Checks.size("addBias", "bias", bias, cols);
        Checks.size("addBias", "y", y, (long) rows * cols);
        elementwise.addBias(rows, cols, cpu("addBias", bias), cpu("addBias", y));
    }

    @Override
    public void biasBackward(int rows, int cols, Buffer dy, Buffer dbias) {
        Checks.size("biasBackward", "dy", dy, (long) rows * cols);
        Checks.size("biasBackward", "dbias", dbias, cols);
        elementwise.biasBackward(rows, cols, cpu("biasBackward", dy), cpu("biasBackward", dbias));
    }

    @Override
    public void relu(Buffer x, Buffer y) {
        Checks.size("relu", "y", y, x.size());
        elementwise.relu(cpu("relu", x), cpu("relu", y));
    }

    @Override
    public void reluBackward(Buffer y, Buffer dy, Buffer dx) {
        Checks.size("reluBackward", "dy", dy, y.size());
        Checks.size("reluBackward", "dx", dx, y.size());
        elementwise.reluBackward(cpu("reluBackward", y), cpu("reluBackward", dy), cpu("reluBackward", dx));
    }

    // ---- convolution and pooling ------------------------------------------------------------------------

    @Override
    public void conv2d(ConvShape s, Buffer x, Buffer w, Buffer y) {
        Checks.size("conv2d", "x", x, s.inputSize());
        Checks.size("conv2d", "w", w, s.filterSize());
        Checks.size("conv2d", "y", y, s.outputSize());
        conv.forward(s, cpu("conv2d", x), cpu("conv2d", w), cpu("conv2d", y));
    }

    @Override
    public void conv2dBackwardData(ConvShape s, Buffer dy, Buffer w, Buffer dx) {
        Checks.size("conv2dBackwardData", "dy", dy, s.outputSize());
        Checks.size("conv2dBackwardData", "w", w, s.filterSize());
        Checks.size("conv2dBackwardData", "dx", dx, s.inputSize());
        conv.backwardData(s, cpu("conv2dBackwardData", dy), cpu("conv2dBackwardData", w),
                cpu("conv2dBackwardData", dx));
    }

    @Override
    public void conv2dBackwardFilter(ConvShape s, Buffer x, Buffer dy, Buffer dw) {
        Checks.size("conv2dBackwardFilter", "x", x, s.inputSize());
        Checks.size("conv2dBackwardFilter", "dy", dy, s.outputSize());
        Checks.size("conv2dBackwardFilter", "dw", dw, s.filterSize());
        conv.backwardFilter(s, cpu("conv2dBackwardFilter", x), cpu("conv2dBackwardFilter", dy),
                cpu("conv2dBackwardFilter", dw));
    }

    @Override
    public void maxPool(PoolShape s, Buffer x, Buffer y, Buffer argmax) {
        Checks.size("maxPool", "x", x, s.inputSize());
        Checks.size("maxPool", "y", y, s.outputSize());
        Checks.size("maxPool", "argmax", argmax, s.outputSize());
        pooling.maxPool(s, cpu("maxPool", x), cpu("maxPool", y), cpu("maxPool", argmax));
    }

    @Override
    public void maxPoolBackward(PoolShape s, Buffer dy, Buffer argmax, Buffer dx) {
        Checks.size("maxPoolBackward", "dy", dy, s.outputSize());
        Checks.size("maxPoolBackward", "argmax", argmax, s.outputSize());
        Checks.size("maxPoolBackward", "dx", dx, s.inputSize());
        pooling.maxPoolBackward(s, cpu("maxPoolBackward", dy), cpu("maxPoolBackward", argmax),
                cpu("maxPoolBackward", dx));
    }

    @Override
    public void globalAvgPool(int n, int c, int hw, Buffer x, Buffer y) {
        Checks.positive("globalAvgPool", "n", n, "c", c, "hw", hw);
        Checks.size("globalAvgPool", "x", x, (long) n * c * hw);
        Checks.size("globalAvgPool", "y", y, (long) n * c);
        pooling.globalAvgPool(n * c, hw, cpu("globalAvgPool", x), cpu("globalAvgPool", y));
    }

    @Override
    public void globalAvgPoolBackward(int n, int c, int hw, Buffer dy, Buffer dx) {
        Checks.positive("globalAvgPoolBackward", "n", n, "c", c, "hw", hw);
        Checks.size("globalAvgPoolBackward", "dy", dy, (long) n * c);
        Checks.size("globalAvgPoolBackward", "dx", dx, (long) n * c * hw);
        pooling.globalAvgPoolBackward(n * c, hw, cpu("globalAvgPoolBackward", dy), cpu("globalAvgPoolBackward", dx));
    }

    // ---- normalisation ----------------------------------------------------------------------------------

    @Override
    public void batchNormTrain(BatchNormShape s, Buffer x, Buffer gamma, Buffer beta, Buffer y,
                               Buffer mean, Buffer invStd, Buffer runningMean, Buffer runningVar,
                               float momentum, float eps) {
        String op = "batchNormTrain";
        Checks.size(op, "x", x, s.size());
        Checks.size(op, "y", y, s.size());
        Checks.size(op, "gamma", gamma, s.c());
        Checks.size(op, "beta", beta, s.c());
        Checks.size(op, "mean", mean, s.statsSize());
        Checks.size(op, "invStd", invStd, s.statsSize());
        Checks.size(op, "runningMean", runningMean, s.c());
        Checks.size(op, "runningVar", runningVar, s.c());
        batchNorm.train(s, cpu(op, x), cpu(op, gamma), cpu(op, beta), cpu(op, y), cpu(op, mean), cpu(op, invStd),
                cpu(op, runningMean), cpu(op, runningVar), momentum, eps);
    }

    @Override
    public void batchNormEval(BatchNormShape s, Buffer x, Buffer gamma, Buffer beta,
                              Buffer runningMean, Buffer runningVar, float eps, Buffer y) {
        String op = "batchNormEval";
        Checks.size(op, "x", x, s.size());
        Checks.size(op, "y", y, s.size());
        Checks.size(op, "gamma", gamma, s.c());
        Checks.size(op, "beta", beta, s.c());
        Checks.size(op, "runningMean", runningMean, s.c());
        Checks.size(op, "runningVar", runningVar, s.c());
        batchNorm.eval(s, cpu(op, x), cpu(op, gamma), cpu(op, beta), cpu(op, runningMean), cpu(op, runningVar),
                eps, cpu(op, y));
    }

    @Override
    public void batchNormBackward(BatchNormShape s, Buffer x, Buffer dy, Buffer gamma, Buffer mean, Buffer invStd,
                                  Buffer dx, Buffer dgamma, Buffer dbeta) {
        String op = "batchNormBackward";
        Checks.size(op, "x", x, s.size());
        Checks.size(op, "dy", dy, s.size());
        Checks.size(op, "dx", dx, s.size());
        Checks.size(op, "gamma", gamma, s.c());
        Checks.size(op, "mean", mean, s.statsSize());
        Checks.size(op, "invStd", invStd, s.statsSize());
        Checks.size(op, "dgamma", dgamma, s.c());
        Checks.size(op, "dbeta", dbeta, s.c());
        batchNorm.backward(s, cpu(op, x), cpu(op, dy), cpu(op, gamma), cpu(op, mean), cpu(op, invStd),
                cpu(op, dx), cpu(op, dgamma), cpu(op, dbeta));
    }

    @Override
    public void l2NormalizeRows(int rows, int cols, Buffer x, Buffer y, Buffer norms) {
        String op = "l2NormalizeRows";
        Checks.positive(op, "rows", rows, "cols", cols);
        Checks.size(op, "x", x, (long) rows * cols);
        Checks.size(op, "y", y, (long) rows * cols);
        Checks.size(op, "norms", norms, rows);
        this.rows.l2Normalize(rows, cols, cpu(op, x), cpu(op, y), cpu(op, norms));
    }

    @Override
    public void l2NormalizeRowsBackward(int rows, int cols, Buffer y, Buffer norms, Buffer dy, Buffer dx) {
        String op = "l2NormalizeRowsBackward";
        Checks.positive(op, "rows", rows, "cols", cols);
        Checks.size(op, "y", y, (long) rows * cols);
        Checks.size(op, "norms", norms, rows);
        Checks.size(op, "dy", dy, (long) rows * cols);
        Checks.size(op, "dx", dx, (long) rows * cols);
        this.rows.l2NormalizeBackward(rows, cols, cpu(op, y), cpu(op, norms), cpu(op, dy), cpu(op, dx));
    }

    // ---- indexing ---------------------------------------------------------------------------------------

    @Override
    public void gatherRows(int cols, Buffer src, int[] index, Buffer dst) {
        String op = "gatherRows";
        Checks.positive(op, "cols", cols);
        if (src.size() % cols != 0)
            throw new IllegalArgumentException(op + ": src of " + src.size() + " floats is not rows of " + cols);
        Checks.indices(op, index, index.length, src.size() / cols);
        Checks.size(op, "dst", dst, (long) index.length * cols);
        rows.gather(cols, cpu(op, src), index, cpu(op, dst));
    }

    @Override
    public void scatterRows(int cols, Buffer src, int[] index, Buffer dst, boolean accumulate) {
        String op = "scatterRows";
        Checks.positive(op, "cols", cols);
        if (dst.size() % cols != 0)
            throw new IllegalArgumentException(op + ": dst of " + dst.size() + " floats is not rows of " + cols);
        Checks.indices(op, index, index.length, dst.size() / cols);
        Checks.size(op, "src", src, (long) index.length * cols);
        rows.scatter(cols, cpu(op, src), index, cpu(op, dst), accumulate);
    }

    // ---- fused losses -----------------------------------------------------------------------------------

    @Override
    public void softmaxCrossEntropy(int rows, int cols, Buffer logits, int[] labels, float gradScale,
                                    Buffer stats, Buffer dlogits) {
        String op = "softmaxCrossEntropy";
        Checks.positive(op, "rows", rows, "cols", cols);
        Checks.size(op, "logits", logits, (long) rows * cols);
        Checks.indices(op, labels, rows, cols);
        Checks.size(op, "stats", stats, 3);
        Checks.size(op, "dlogits", dlogits, (long) rows * cols);
        losses.softmaxCrossEntropy(rows, cols, cpu(op, logits), labels, gradScale, cpu(op, stats), cpu(op, dlogits));
    }

    @Override
    public void infoNce(int n, int c, int kq, float t, Buffer q, Buffer k, Buffer queue, float gradScale,
                        Buffer stats, Buffer dq, Buffer dk) {
        String op = "infoNce";
        Checks.positive(op, "n", n, "c", c, "queue rows", kq);
        if (!(t > 0) || !Float.isFinite(t)) throw new IllegalArgumentException(op + ": temperature must be > 0, got " + t);
        Checks.size(op, "q [n, c]", q, (long) n * c);
        Checks.size(op, "k [n, c]", k, (long) n * c);
        Checks.size(op, "queue [K, c]", queue, (long) kq * c);
        Checks.size(op, "stats", stats, 3);
        Checks.size(op, "dq [n, c]", dq, (long) n * c);
        if (dk != null) Checks.size(op, "dk [n, c]", dk, (long) n * c);
        losses.infoNce(n, c, kq, t, cpu(op, q), cpu(op, k), cpu(op, queue), gradScale, cpu(op, stats), cpu(op, dq),
                dk == null ? null : cpu(op, dk));
    }

    // ---- MoCo state updates -------------------------------------------------------------------------

    @Override
    public void ema(float m, Buffer target, Buffer source) {
        Checks.size("ema", "source", source, target.size());
        updates.ema(m, cpu("ema", target), cpu("ema", source));
    }

    @Override
    public void enqueue(Buffer queue, int capacity, int c, Buffer keys, int n, int ptr) {
        String op = "enqueue";
        Checks.positive(op, "capacity", capacity, "c", c, "n", n);
        if (n > capacity) throw new IllegalArgumentException(op + ": " + n + " keys exceed queue capacity " + capacity);
        if (ptr < 0 || ptr >= capacity)
            throw new IllegalArgumentException(op + ": pointer " + ptr + " outside [0, " + capacity + ")");
        Checks.size(op, "queue [capacity, c]", queue, (long) capacity * c);
        Checks.size(op, "keys [n, c]", keys, (long) n * c);
        updates.enqueue(cpu(op, queue), capacity, c, cpu(op, keys), n, ptr);
    }

    @Override
    public void sgd(float lr, float momentum, float weightDecay, Buffer param, Buffer grad, Buffer velocity) {
        Checks.size("sgd", "grad", grad, param.size());
        Checks.size("sgd", "velocity", velocity, param.size());
        updates.sgd(lr, momentum, weightDecay, cpu("sgd", param), cpu("sgd", grad), cpu("sgd", velocity));
    }

    @Override
    public void close() {
        pool.clear();
        parallel.shutdown();
    }

    private CpuBuffer cpu(String op, Buffer b) {
        if (b instanceof CpuBuffer cb && cb.backend() == this) return cb;
        throw new IllegalArgumentException(op + ": buffer " + b + " does not belong to this cpu backend");
    }
}
