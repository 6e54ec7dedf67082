package dev.jmoco.backend.cpu;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.BatchNormShape;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.ConvShape;
import dev.jmoco.backend.OpChecks;
import dev.jmoco.backend.PoolShape;
import dev.jmoco.backend.PoolStats;

import java.util.Arrays;

/**
 * The pure-Java backend: the reference every other backend is checked against, and the default that runs
 * anywhere. This class checks arguments and unwraps buffers; the arithmetic lives in one kernel class per
 * op family. Work is spread over all cores by {@link Parallel}; storage comes from {@link CpuPool}.
 * Convolutions run on the system oneDNN where it loads ({@link CpuConvDnnl}), else, or when asked, on the
 * Java kernels ({@link CpuConv}), which stay the reference.
 */
public final class CpuBackend implements Backend {
    final CpuPool pool = new CpuPool();
    final Parallel parallel;
    private final CpuGemm gemm;
    private final CpuConv conv;
    /** oneDNN's convolutions, or null when they are not used. */
    private final CpuConvDnnl dnnlConv;
    private final CpuElementwise elementwise;
    private final CpuPooling pooling;
    private final CpuBatchNorm batchNorm;
    private final CpuRows rows;
    private final CpuLosses losses;
    private final CpuUpdates updates;

    /** A backend using every core. */
    public CpuBackend() { this(Runtime.getRuntime().availableProcessors()); }

    /** A backend using {@code threads} threads, with oneDNN's convolutions where the library loads. */
    public CpuBackend(int threads) { this(threads, true); }

    /**
     * A backend using {@code threads} threads; {@code oneDnn} false forces the Java convolutions (true uses
     * oneDNN where it loads, see {@link CpuDnnl}).
     */
    public CpuBackend(int threads, boolean oneDnn) {
        parallel = new Parallel(threads);
        gemm = new CpuGemm(parallel);
        conv = new CpuConv(this, parallel, gemm);
        CpuDnnl dnnl = oneDnn ? CpuDnnl.get() : null;
        dnnlConv = dnnl == null ? null : new CpuConvDnnl(dnnl, parallel, CpuConvDnnl.Layout.fromProperty());
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

    /** "oneDNN 2.6.3, OpenMP, blocked layouts" or "java (im2col + gemm)"; for reports. */
    public String convImplementation() {
        return dnnlConv == null ? "java (im2col + gemm)" : dnnlConv.description();
    }

    /** Why oneDNN's convolutions cannot run in this JVM ("libdnnl.so.2 not found"), or null when they can. */
    public static String oneDnnMissingReason() {
        return CpuDnnl.get() == null ? CpuDnnl.unavailableReason() : null;
    }

    /** Whether convolutions run on oneDNN. */
    public boolean usesOneDnn() { return dnnlConv != null; }

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
        OpChecks.upload(src, srcOffset, dst);
        CpuBuffer d = cpu("upload", dst);
        System.arraycopy(src, srcOffset, d.array, d.offset, (int) d.size());
    }

    @Override
    public void download(Buffer src, float[] dst, int dstOffset) {
        OpChecks.download(src, dst, dstOffset);
        CpuBuffer s = cpu("download", src);
        System.arraycopy(s.array, s.offset, dst, dstOffset, (int) s.size());
    }

    @Override
    public void copy(Buffer src, Buffer dst) {
        OpChecks.copy(src, dst);
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
        OpChecks.gemm(transA, transB, m, n, k, a, b, c);
        gemm.gemm(transA, transB, m, n, k, alpha, cpu("gemm", a), cpu("gemm", b), beta, cpu("gemm", c));
    }

    @Override
    public void add(float alpha, Buffer x, float beta, Buffer y, Buffer out) {
        OpChecks.add(x, y, out);
        elementwise.add(alpha, cpu("add", x), beta, cpu("add", y), cpu("add", out));
    }

    @Override
    public void addBias(int rows, int cols, Buffer bias, Buffer y) {
        OpChecks.addBias(rows, cols, bias, y);
        elementwise.addBias(rows, cols, cpu("addBias", bias), cpu("addBias", y));
    }

    @Override
    public void biasBackward(int rows, int cols, Buffer dy, Buffer dbias) {
        OpChecks.biasBackward(rows, cols, dy, dbias);
        elementwise.biasBackward(rows, cols, cpu("biasBackward", dy), cpu("biasBackward", dbias));
    }

    @Override
    public void relu(Buffer x, Buffer y) {
        OpChecks.relu(x, y);
        elementwise.relu(cpu("relu", x), cpu("relu", y));
    }

    @Override
    public void reluBackward(Buffer y, Buffer dy, Buffer dx) {
        OpChecks.reluBackward(y, dy, dx);
        elementwise.reluBackward(cpu("reluBackward", y), cpu("reluBackward", dy), cpu("reluBackward", dx));
    }

    // ---- convolution and pooling ------------------------------------------------------------------------

    @Override
    public void conv2d(ConvShape s, Buffer x, Buffer w, Buffer y) {
        OpChecks.conv2d(s, x, w, y);
        CpuBuffer cx = cpu("conv2d", x), cw = cpu("conv2d", w), cy = cpu("conv2d", y);
        if (dnnlConv == null || !dnnlConv.forward(s, cx, cw, cy)) conv.forward(s, cx, cw, cy);
    }

    @Override
    public void conv2dBackwardData(ConvShape s, Buffer dy, Buffer w, Buffer dx) {
        OpChecks.conv2dBackwardData(s, dy, w, dx);
        String op = "conv2dBackwardData";
        CpuBuffer cdy = cpu(op, dy), cw = cpu(op, w), cdx = cpu(op, dx);
        if (dnnlConv == null || !dnnlConv.backwardData(s, cdy, cw, cdx)) conv.backwardData(s, cdy, cw, cdx);
    }

    @Override
    public void conv2dBackwardFilter(ConvShape s, Buffer x, Buffer dy, Buffer dw) {
        OpChecks.conv2dBackwardFilter(s, x, dy, dw);
        String op = "conv2dBackwardFilter";
        CpuBuffer cx = cpu(op, x), cdy = cpu(op, dy), cdw = cpu(op, dw);
        if (dnnlConv == null || !dnnlConv.backwardFilter(s, cx, cdy, cdw)) conv.backwardFilter(s, cx, cdy, cdw);
    }

    @Override
    public void maxPool(PoolShape s, Buffer x, Buffer y, Buffer argmax) {
        OpChecks.maxPool(s, x, y, argmax);
        pooling.maxPool(s, cpu("maxPool", x), cpu("maxPool", y), cpu("maxPool", argmax));
    }

    @Override
    public void maxPoolBackward(PoolShape s, Buffer dy, Buffer argmax, Buffer dx) {
        OpChecks.maxPoolBackward(s, dy, argmax, dx);
        pooling.maxPoolBackward(s, cpu("maxPoolBackward", dy), cpu("maxPoolBackward", argmax),
                cpu("maxPoolBackward", dx));
    }

    @Override
    public void globalAvgPool(int n, int c, int hw, Buffer x, Buffer y) {
        OpChecks.globalAvgPool(n, c, hw, x, y);
        pooling.globalAvgPool(n * c, hw, cpu("globalAvgPool", x), cpu("globalAvgPool", y));
    }

    @Override
    public void globalAvgPoolBackward(int n, int c, int hw, Buffer dy, Buffer dx) {
        OpChecks.globalAvgPoolBackward(n, c, hw, dy, dx);
        pooling.globalAvgPoolBackward(n * c, hw, cpu("globalAvgPoolBackward", dy), cpu("globalAvgPoolBackward", dx));
    }

    // ---- normalisation ----------------------------------------------------------------------------------

    @Override
    public void batchNormTrain(BatchNormShape s, Buffer x, Buffer gamma, Buffer beta, Buffer y,
                               Buffer mean, Buffer invStd, Buffer runningMean, Buffer runningVar,
                               float momentum, float eps) {
        String op = "batchNormTrain";
        OpChecks.batchNormTrain(s, x, gamma, beta, y, mean, invStd, runningMean, runningVar);
        batchNorm.train(s, cpu(op, x), cpu(op, gamma), cpu(op, beta), cpu(op, y), cpu(op, mean), cpu(op, invStd),
                cpu(op, runningMean), cpu(op, runningVar), momentum, eps);
    }

    @Override
    public void batchNormEval(BatchNormShape s, Buffer x, Buffer gamma, Buffer beta,
                              Buffer runningMean, Buffer runningVar, float eps, Buffer y) {
        String op = "batchNormEval";
        OpChecks.batchNormEval(s, x, gamma, beta, runningMean, runningVar, y);
        batchNorm.eval(s, cpu(op, x), cpu(op, gamma), cpu(op, beta), cpu(op, runningMean), cpu(op, runningVar),
                eps, cpu(op, y));
    }

    @Override
    public void batchNormBackward(BatchNormShape s, Buffer x, Buffer dy, Buffer gamma, Buffer mean, Buffer invStd,
                                  Buffer dx, Buffer dgamma, Buffer dbeta) {
        String op = "batchNormBackward";
        OpChecks.batchNormBackward(s, x, dy, gamma, mean, invStd, dx, dgamma, dbeta);
        batchNorm.backward(s, cpu(op, x), cpu(op, dy), cpu(op, gamma), cpu(op, mean), cpu(op, invStd),
                cpu(op, dx), cpu(op, dgamma), cpu(op, dbeta));
    }

    @Override
    public void l2NormalizeRows(int rows, int cols, Buffer x, Buffer y, Buffer norms) {
        String op = "l2NormalizeRows";
        OpChecks.l2NormalizeRows(rows, cols, x, y, norms);
        this.rows.l2Normalize(rows, cols, cpu(op, x), cpu(op, y), cpu(op, norms));
    }

    @Override
    public void l2NormalizeRowsBackward(int rows, int cols, Buffer y, Buffer norms, Buffer dy, Buffer dx) {
        String op = "l2NormalizeRowsBackward";
        OpChecks.l2NormalizeRowsBackward(rows, cols, y, norms, dy, dx);
        this.rows.l2NormalizeBackward(rows, cols, cpu(op, y), cpu(op, norms), cpu(op, dy), cpu(op, dx));
    }

    // ---- indexing ---------------------------------------------------------------------------------------

    @Override
    public void gatherRows(int cols, Buffer src, int[] index, Buffer dst) {
        String op = "gatherRows";
        OpChecks.gatherRows(cols, src, index, dst);
        rows.gather(cols, cpu(op, src), index, cpu(op, dst));
    }

    @Override
    public void scatterRows(int cols, Buffer src, int[] index, Buffer dst, boolean accumulate) {
        String op = "scatterRows";
        OpChecks.scatterRows(cols, src, index, dst);
        rows.scatter(cols, cpu(op, src), index, cpu(op, dst), accumulate);
    }

    // ---- fused losses -----------------------------------------------------------------------------------

    @Override
    public void softmaxCrossEntropy(int rows, int cols, Buffer logits, int[] labels, float gradScale,
                                    Buffer stats, Buffer dlogits) {
        String op = "softmaxCrossEntropy";
        OpChecks.softmaxCrossEntropy(rows, cols, logits, labels, stats, dlogits);
        losses.softmaxCrossEntropy(rows, cols, cpu(op, logits), labels, gradScale, cpu(op, stats), cpu(op, dlogits));
    }

    @Override
    public void infoNce(int n, int c, int kq, float t, Buffer q, Buffer k, Buffer queue, float gradScale,
                        Buffer stats, Buffer dq, Buffer dk) {
        String op = "infoNce";
        OpChecks.infoNce(n, c, kq, t, q, k, queue, stats, dq, dk);
        losses.infoNce(n, c, kq, t, cpu(op, q), cpu(op, k), cpu(op, queue), gradScale, cpu(op, stats), cpu(op, dq),
                dk == null ? null : cpu(op, dk));
    }

    // ---- MoCo state updates -------------------------------------------------------------------------

    @Override
    public void ema(float m, Buffer target, Buffer source) {
        OpChecks.ema(target, source);
        updates.ema(m, cpu("ema", target), cpu("ema", source));
    }

    @Override
    public void enqueue(Buffer queue, int capacity, int c, Buffer keys, int n, int ptr) {
        String op = "enqueue";
        OpChecks.enqueue(queue, capacity, c, keys, n, ptr);
        updates.enqueue(cpu(op, queue), capacity, c, cpu(op, keys), n, ptr);
    }

    @Override
    public void sgd(float lr, float momentum, float weightDecay, Buffer param, Buffer grad, Buffer velocity) {
        OpChecks.sgd(param, grad, velocity);
        updates.sgd(lr, momentum, weightDecay, cpu("sgd", param), cpu("sgd", grad), cpu("sgd", velocity));
    }

    @Override
    public void close() {
        if (dnnlConv != null) dnnlConv.close();
        pool.clear();
        parallel.shutdown();
    }

    private CpuBuffer cpu(String op, Buffer b) {
        if (b instanceof CpuBuffer cb && cb.backend() == this) return cb;
        throw new IllegalArgumentException(op + ": buffer " + b + " does not belong to this cpu backend");
    }
}
