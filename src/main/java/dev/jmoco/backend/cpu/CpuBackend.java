package dev.jmoco.backend.cpu;

import dev.jmoco.backend.BatchNormShape;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.ConvShape;
import dev.jmoco.backend.CheckedBackend;
import dev.jmoco.backend.PoolShape;
import dev.jmoco.backend.PoolStats;

import java.util.Arrays;

/**
 * The fast CPU backend, and the default that runs anywhere ({@link dev.jmoco.backend.reference.ReferenceOps}
 * is the reference it is tested against). {@link CheckedBackend} checks arguments and unwraps buffers; the
 * op bodies here pick a kernel class per op family, which holds the arithmetic. Work is spread over all
 * cores by {@link Parallel}; storage comes from {@link CpuPool}. Convolutions run on the system oneDNN where it loads ({@link CpuConvDnnl}), else, or when asked, on the
 * Java kernels ({@link CpuConv}), which stay the fallback.
 */
public final class CpuBackend extends CheckedBackend<CpuBuffer> {
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
    private final CpuInfoNce infoNce;
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
        losses = new CpuLosses(this, parallel);
        infoNce = new CpuInfoNce(this, parallel, gemm);
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
    protected void doUpload(float[] src, int srcOffset, CpuBuffer dst) {
        System.arraycopy(src, srcOffset, dst.array, dst.offset, (int) dst.size());
    }

    @Override
    protected void doDownload(CpuBuffer src, float[] dst, int dstOffset) {
        System.arraycopy(src.array, src.offset, dst, dstOffset, (int) src.size());
    }

    @Override
    protected void doCopy(CpuBuffer s, CpuBuffer d) {
        // Chunked over all cores: one core cannot saturate memory bandwidth (and copy is the EMA's yardstick).
        parallel.forRange((int) s.size(), 1 << 16,
                (i0, i1) -> System.arraycopy(s.array, s.offset + i0, d.array, d.offset + i0, i1 - i0));
    }

    @Override
    protected void doFill(CpuBuffer d, float value) {
        parallel.forRange((int) d.size(), 1 << 16, (i0, i1) -> Arrays.fill(d.array, d.offset + i0, d.offset + i1, value));
    }

    @Override public void synchronize() {}

    @Override public PoolStats poolStats() { return pool.stats(); }

    // ---- dense algebra ------------------------------------------------------------------------------------

    @Override
    protected void doGemm(boolean transA, boolean transB, int m, int n, int k,
                          float alpha, CpuBuffer a, CpuBuffer b, float beta, CpuBuffer c) {
        gemm.gemm(transA, transB, m, n, k, alpha, a, b, beta, c);
    }

    @Override
    protected void doAdd(float alpha, CpuBuffer x, float beta, CpuBuffer y, CpuBuffer out) {
        elementwise.add(alpha, x, beta, y, out);
    }

    @Override
    protected void doAddBias(int rows, int cols, CpuBuffer bias, CpuBuffer y) {
        elementwise.addBias(rows, cols, bias, y);
    }

    @Override
    protected void doBiasBackward(int rows, int cols, CpuBuffer dy, CpuBuffer dbias) {
        elementwise.biasBackward(rows, cols, dy, dbias);
    }

    @Override protected void doRelu(CpuBuffer x, CpuBuffer y) { elementwise.relu(x, y); }

    @Override
    protected void doReluBackward(CpuBuffer y, CpuBuffer dy, CpuBuffer dx) { elementwise.reluBackward(y, dy, dx); }

    // ---- convolution and pooling ------------------------------------------------------------------------

    @Override
    protected void doConv2d(ConvShape s, CpuBuffer x, CpuBuffer w, CpuBuffer y) {
        if (dnnlConv == null || !dnnlConv.forward(s, x, w, y)) conv.forward(s, x, w, y);
    }

    @Override
    protected void doConv2dBackwardData(ConvShape s, CpuBuffer dy, CpuBuffer w, CpuBuffer dx) {
        if (dnnlConv == null || !dnnlConv.backwardData(s, dy, w, dx)) conv.backwardData(s, dy, w, dx);
    }

    @Override
    protected void doConv2dBackwardFilter(ConvShape s, CpuBuffer x, CpuBuffer dy, CpuBuffer dw) {
        if (dnnlConv == null || !dnnlConv.backwardFilter(s, x, dy, dw)) conv.backwardFilter(s, x, dy, dw);
    }

    @Override
    protected void doMaxPool(PoolShape s, CpuBuffer x, CpuBuffer y, CpuBuffer argmax) {
        pooling.maxPool(s, x, y, argmax);
    }

    @Override
    protected void doMaxPoolBackward(PoolShape s, CpuBuffer dy, CpuBuffer argmax, CpuBuffer dx) {
        pooling.maxPoolBackward(s, dy, argmax, dx);
    }

    @Override
    protected void doGlobalAvgPool(int n, int c, int hw, CpuBuffer x, CpuBuffer y) {
        pooling.globalAvgPool(n * c, hw, x, y);
    }

    @Override
    protected void doGlobalAvgPoolBackward(int n, int c, int hw, CpuBuffer dy, CpuBuffer dx) {
        pooling.globalAvgPoolBackward(n * c, hw, dy, dx);
    }

    // ---- normalisation ----------------------------------------------------------------------------------

    @Override
    protected void doBatchNormTrain(BatchNormShape s, CpuBuffer x, CpuBuffer gamma, CpuBuffer beta, CpuBuffer y,
                                    CpuBuffer mean, CpuBuffer invStd, CpuBuffer runningMean, CpuBuffer runningVar,
                                    float momentum, float eps) {
        batchNorm.train(s, x, gamma, beta, y, mean, invStd, runningMean, runningVar, momentum, eps);
    }

    @Override
    protected void doBatchNormEval(BatchNormShape s, CpuBuffer x, CpuBuffer gamma, CpuBuffer beta,
                                   CpuBuffer runningMean, CpuBuffer runningVar, float eps, CpuBuffer y) {
        batchNorm.eval(s, x, gamma, beta, runningMean, runningVar, eps, y);
    }

    @Override
    protected void doBatchNormBackward(BatchNormShape s, CpuBuffer x, CpuBuffer dy, CpuBuffer gamma, CpuBuffer mean,
                                       CpuBuffer invStd, CpuBuffer dx, CpuBuffer dgamma, CpuBuffer dbeta) {
        batchNorm.backward(s, x, dy, gamma, mean, invStd, dx, dgamma, dbeta);
    }

    @Override
    protected void doL2NormalizeRows(int rows, int cols, CpuBuffer x, CpuBuffer y, CpuBuffer norms) {
        this.rows.l2Normalize(rows, cols, x, y, norms);
    }

    @Override
    protected void doL2NormalizeRowsBackward(int rows, int cols, CpuBuffer y, CpuBuffer norms, CpuBuffer dy,
                                             CpuBuffer dx) {
        this.rows.l2NormalizeBackward(rows, cols, y, norms, dy, dx);
    }

    // ---- indexing ---------------------------------------------------------------------------------------

    @Override
    protected void doGatherRows(int cols, CpuBuffer src, int[] index, CpuBuffer dst) {
        rows.gather(cols, src, index, dst);
    }

    @Override
    protected void doScatterRows(int cols, CpuBuffer src, int[] index, CpuBuffer dst, boolean accumulate) {
        rows.scatter(cols, src, index, dst, accumulate);
    }

    // ---- fused losses -----------------------------------------------------------------------------------

    @Override
    protected void doSoftmaxCrossEntropy(int rows, int cols, CpuBuffer logits, int[] labels, float gradScale,
                                         CpuBuffer stats, CpuBuffer dlogits) {
        losses.softmaxCrossEntropy(rows, cols, logits, labels, gradScale, stats, dlogits);
    }

    @Override
    protected void doInfoNce(int n, int c, int kq, float t, CpuBuffer q, CpuBuffer k, CpuBuffer queue,
                             float gradScale, CpuBuffer stats, CpuBuffer dq, CpuBuffer dk) {
        infoNce.run(n, c, kq, t, q, k, queue, gradScale, stats, dq, dk);
    }

    // ---- MoCo state updates -------------------------------------------------------------------------

    @Override protected void doEma(float m, CpuBuffer target, CpuBuffer source) { updates.ema(m, target, source); }

    @Override
    protected void doEnqueue(CpuBuffer queue, int capacity, int c, CpuBuffer keys, int n, int ptr) {
        updates.enqueue(queue, capacity, c, keys, n, ptr);
    }

    @Override
    protected void doSgd(float lr, float momentum, float weightDecay, CpuBuffer param, CpuBuffer grad,
                         CpuBuffer velocity) {
        updates.sgd(lr, momentum, weightDecay, param, grad, velocity);
    }

    @Override
    public void close() {
        if (dnnlConv != null) dnnlConv.close();
        pool.clear();
        parallel.shutdown();
    }

    @Override
    protected CpuBuffer own(String op, Buffer b) {
        if (b instanceof CpuBuffer cb && cb.backend() == this) return cb;
        throw new IllegalArgumentException(op + ": buffer " + b + " does not belong to this cpu backend");
    }
}
