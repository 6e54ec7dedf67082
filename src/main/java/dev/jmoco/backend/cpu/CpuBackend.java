package dev.jmoco.backend.cpu;

import dev.jmoco.backend.BatchNormShape;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.ConvShape;
import dev.jmoco.backend.CheckedBackend;
import dev.jmoco.backend.PoolShape;
import dev.jmoco.backend.PoolStats;

import java.util.Arrays;
import java.util.List;

/**
 * The fast CPU backend, and the default that runs anywhere ({@link dev.jmoco.backend.reference.ReferenceOps}
 * is the reference it is tested against). {@link CheckedBackend} checks arguments and unwraps buffers; the
 * op bodies here pick a kernel class per op family, which holds the arithmetic. Work is spread over all
 * cores by {@link Parallel}; storage comes from {@link CpuPool}. Where the system oneDNN loads, convolutions
 * run on it ({@link CpuConvDnnl}), and so do batch norm, ReLU and the skip connection's add on activations it
 * already holds ({@link CpuBatchNormDnnl}, {@link CpuReluDnnl}, {@link CpuAddDnnl}), which stay off-heap in
 * its layouts between them ({@link CpuDnnlTensors}); every other op, and all of them without oneDNN or when
 * asked ({@code cpu:java}), run on the Java kernels, which are also the reference the oneDNN paths are tested
 * against.
 */
public final class CpuBackend extends CheckedBackend<CpuBuffer> {
    final CpuPool pool = new CpuPool();
    final Parallel parallel;
    private final CpuGemm gemm;
    private final CpuConv conv;
    /** oneDNN's operand storage, convolutions, batch norm, ReLU and add; all null when oneDNN is not used. */
    private final CpuDnnlTensors dnnlTensors;
    private final CpuConvDnnl dnnlConv;
    private final CpuBatchNormDnnl dnnlBatchNorm;
    private final CpuReluDnnl dnnlRelu;
    private final CpuAddDnnl dnnlAdd;
    /** The lock of buffer state changes and oneDNN calls (see CpuBuffer): the CpuDnnlTensors when present. */
    private final Object stateLock;
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
        dnnlTensors = dnnl == null ? null : new CpuDnnlTensors(dnnl, parallel);
        dnnlConv = dnnl == null ? null : new CpuConvDnnl(dnnlTensors, CpuConvDnnl.Layout.fromProperty());
        dnnlBatchNorm = dnnl == null ? null : new CpuBatchNormDnnl(dnnlTensors);
        dnnlRelu = dnnl == null ? null : new CpuReluDnnl(dnnlTensors);
        dnnlAdd = dnnl == null ? null : new CpuAddDnnl(dnnlTensors);
        stateLock = dnnl == null ? new Object() : dnnlTensors;
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

    /** The layouts oneDNN chose for a convolution pass's operands (see CpuConvDnnl#layouts); for tests. */
    List<String> convLayouts(ConvShape s, String pass) { return dnnlConv.layouts(s, pass); }

    /** See {@link #stateLock}. */
    Object stateLock() { return stateLock; }

    /** Where oneDNN's operands live; only asked for by buffers that live there, so never null then. */
    CpuDnnlTensors dnnlTensors() { return dnnlTensors; }

    /** a[from, from + size) = value, over the cores. */
    void fillArray(float[] a, int from, int size, float value) {
        parallel.forRange(size, 1 << 16, (i0, i1) -> Arrays.fill(a, from + i0, from + i1, value));
    }

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
        dst.forWrite();
        System.arraycopy(src, srcOffset, dst.array, dst.offset, (int) dst.size());
    }

    @Override
    protected void doDownload(CpuBuffer src, float[] dst, int dstOffset) {
        src.forRead();
        System.arraycopy(src.array, src.offset, dst, dstOffset, (int) src.size());
    }

    @Override
    protected void doCopy(CpuBuffer s, CpuBuffer d) {
        s.forRead();
        d.forWrite();
        // Chunked over all cores: one core cannot saturate memory bandwidth (and copy is the EMA's yardstick).
        parallel.forRange((int) s.size(), 1 << 16,
                (i0, i1) -> System.arraycopy(s.array, s.offset + i0, d.array, d.offset + i0, i1 - i0));
    }

    @Override
    protected void doFill(CpuBuffer d, float value) {
        // Zeros are only noted: a gradient's first backward pass on oneDNN then writes rather than adds.
        if (value == 0f && d.isRoot() && dnnlTensors != null) {
            d.markZero();
            return;
        }
        d.forWrite();
        fillArray(d.array, d.offset, (int) d.size(), value);
    }

    @Override public void synchronize() {}

    @Override public PoolStats poolStats() { return pool.stats(); }

    // ---- dense algebra ------------------------------------------------------------------------------------

    @Override
    protected void doGemm(boolean transA, boolean transB, int m, int n, int k,
                          float alpha, CpuBuffer a, CpuBuffer b, float beta, CpuBuffer c) {
        read(a, b);
        c.forWrite();
        gemm.gemm(transA, transB, m, n, k, alpha, a, b, beta, c);
    }

    @Override
    protected void doAdd(float alpha, CpuBuffer x, float beta, CpuBuffer y, CpuBuffer out) {
        if (dnnlAdd != null && dnnlAdd.add(alpha, x, beta, y, out)) return;
        read(x, y);
        out.forWrite();
        elementwise.add(alpha, x, beta, y, out);
    }

    @Override
    protected void doAddBias(int rows, int cols, CpuBuffer bias, CpuBuffer y) {
        bias.forRead();
        y.forWrite();
        elementwise.addBias(rows, cols, bias, y);
    }

    @Override
    protected void doBiasBackward(int rows, int cols, CpuBuffer dy, CpuBuffer dbias) {
        dy.forRead();
        dbias.forWrite();
        elementwise.biasBackward(rows, cols, dy, dbias);
    }

    @Override
    protected void doRelu(CpuBuffer x, CpuBuffer y) {
        if (dnnlRelu != null && dnnlRelu.forward(x, y)) return;
        x.forRead();
        y.forWrite();
        elementwise.relu(x, y);
    }

    @Override
    protected void doReluBackward(CpuBuffer y, CpuBuffer dy, CpuBuffer dx) {
        if (dnnlRelu != null && dnnlRelu.backward(y, dy, dx)) return;
        read(y, dy);
        dx.forWrite();
        elementwise.reluBackward(y, dy, dx);
    }

    // ---- convolution and pooling ------------------------------------------------------------------------

    @Override
    protected void doConv2d(ConvShape s, CpuBuffer x, CpuBuffer w, CpuBuffer y) {
        if (dnnlConv != null && dnnlConv.forward(s, x, w, y)) return;
        read(x, w);
        y.forWrite();
        conv.forward(s, x, w, y);
    }

    @Override
    protected void doConv2dBackwardData(ConvShape s, CpuBuffer dy, CpuBuffer w, CpuBuffer dx) {
        if (dnnlConv != null && dnnlConv.backwardData(s, dy, w, dx)) return;
        read(dy, w);
        dx.forWrite();
        conv.backwardData(s, dy, w, dx);
    }

    @Override
    protected void doConv2dBackwardFilter(ConvShape s, CpuBuffer x, CpuBuffer dy, CpuBuffer dw) {
        if (dnnlConv != null && dnnlConv.backwardFilter(s, x, dy, dw)) return;
        read(x, dy);
        dw.forWrite();
        conv.backwardFilter(s, x, dy, dw);
    }

    @Override
    protected void doMaxPool(PoolShape s, CpuBuffer x, CpuBuffer y, CpuBuffer argmax) {
        x.forRead();
        write(y, argmax);
        pooling.maxPool(s, x, y, argmax);
    }

    @Override
    protected void doMaxPoolBackward(PoolShape s, CpuBuffer dy, CpuBuffer argmax, CpuBuffer dx) {
        read(dy, argmax);
        dx.forWrite();
        pooling.maxPoolBackward(s, dy, argmax, dx);
    }

    @Override
    protected void doGlobalAvgPool(int n, int c, int hw, CpuBuffer x, CpuBuffer y) {
        x.forRead();
        y.forWrite();
        pooling.globalAvgPool(n * c, hw, x, y);
    }

    @Override
    protected void doGlobalAvgPoolBackward(int n, int c, int hw, CpuBuffer dy, CpuBuffer dx) {
        dy.forRead();
        dx.forWrite();
        pooling.globalAvgPoolBackward(n * c, hw, dy, dx);
    }

    // ---- normalisation ----------------------------------------------------------------------------------

    @Override
    protected void doBatchNormTrain(BatchNormShape s, CpuBuffer x, CpuBuffer gamma, CpuBuffer beta, CpuBuffer y,
                                    CpuBuffer mean, CpuBuffer invStd, CpuBuffer runningMean, CpuBuffer runningVar,
                                    float momentum, float eps) {
        if (dnnlBatchNorm != null && dnnlBatchNorm.train(s, x, gamma, beta, y, mean, invStd, runningMean, runningVar,
                momentum, eps)) return;
        read(x, gamma, beta);
        write(y, mean, invStd, runningMean, runningVar);
        batchNorm.train(s, x, gamma, beta, y, mean, invStd, runningMean, runningVar, momentum, eps);
    }

    @Override
    protected void doBatchNormEval(BatchNormShape s, CpuBuffer x, CpuBuffer gamma, CpuBuffer beta,
                                   CpuBuffer runningMean, CpuBuffer runningVar, float eps, CpuBuffer y) {
        read(x, gamma, beta, runningMean, runningVar);
        y.forWrite();
        batchNorm.eval(s, x, gamma, beta, runningMean, runningVar, eps, y);
    }

    @Override
    protected void doBatchNormBackward(BatchNormShape s, CpuBuffer x, CpuBuffer dy, CpuBuffer gamma, CpuBuffer mean,
                                       CpuBuffer invStd, CpuBuffer dx, CpuBuffer dgamma, CpuBuffer dbeta) {
        if (dnnlBatchNorm != null && dnnlBatchNorm.backward(s, x, dy, gamma, mean, invStd, dx, dgamma, dbeta)) return;
        read(x, dy, gamma, mean, invStd);
        write(dx, dgamma, dbeta);
        batchNorm.backward(s, x, dy, gamma, mean, invStd, dx, dgamma, dbeta);
    }

    @Override
    protected void doL2NormalizeRows(int rows, int cols, CpuBuffer x, CpuBuffer y, CpuBuffer norms) {
        x.forRead();
        write(y, norms);
        this.rows.l2Normalize(rows, cols, x, y, norms);
    }

    @Override
    protected void doL2NormalizeRowsBackward(int rows, int cols, CpuBuffer y, CpuBuffer norms, CpuBuffer dy,
                                             CpuBuffer dx) {
        read(y, norms, dy);
        dx.forWrite();
        this.rows.l2NormalizeBackward(rows, cols, y, norms, dy, dx);
    }

    // ---- indexing ---------------------------------------------------------------------------------------

    @Override
    protected void doGatherRows(int cols, CpuBuffer src, int[] index, CpuBuffer dst) {
        src.forRead();
        dst.forWrite();
        rows.gather(cols, src, index, dst);
    }

    @Override
    protected void doScatterRows(int cols, CpuBuffer src, int[] index, CpuBuffer dst, boolean accumulate) {
        src.forRead();
        dst.forWrite();
        rows.scatter(cols, src, index, dst, accumulate);
    }

    // ---- fused losses -----------------------------------------------------------------------------------

    @Override
    protected void doSoftmaxCrossEntropy(int rows, int cols, CpuBuffer logits, int[] labels, float gradScale,
                                         CpuBuffer stats, CpuBuffer dlogits) {
        logits.forRead();
        write(stats, dlogits);
        losses.softmaxCrossEntropy(rows, cols, logits, labels, gradScale, stats, dlogits);
    }

    @Override
    protected void doInfoNce(int n, int c, int kq, float t, CpuBuffer q, CpuBuffer k, CpuBuffer queue,
                             float gradScale, CpuBuffer stats, CpuBuffer dq, CpuBuffer dk) {
        read(q, k, queue);
        write(stats, dq, dk);
        infoNce.run(n, c, kq, t, q, k, queue, gradScale, stats, dq, dk);
    }

    // ---- MoCo state updates -------------------------------------------------------------------------

    @Override
    protected void doEma(float m, CpuBuffer target, CpuBuffer source) {
        source.forRead();
        target.forWrite();
        updates.ema(m, target, source);
    }

    @Override
    protected void doEnqueue(CpuBuffer queue, int capacity, int c, CpuBuffer keys, int n, int ptr) {
        keys.forRead();
        queue.forWrite();
        updates.enqueue(queue, capacity, c, keys, n, ptr);
    }

    @Override
    protected void doSgd(float lr, float momentum, float weightDecay, CpuBuffer param, CpuBuffer grad,
                         CpuBuffer velocity) {
        grad.forRead();
        write(param, velocity);
        updates.sgd(lr, momentum, weightDecay, param, grad, velocity);
    }

    @Override
    public void close() {
        if (dnnlTensors != null) {
            dnnlRelu.close();
            dnnlBatchNorm.close();
            dnnlConv.close();
            dnnlTensors.close();
        }
        pool.clear();
        parallel.shutdown();
    }

    /** Brings the arrays of buffers a Java kernel reads up to date (see CpuBuffer); nulls are skipped. */
    private static void read(CpuBuffer... buffers) {
        for (CpuBuffer b : buffers) if (b != null) b.forRead();
    }

    /** The same for buffers a Java kernel writes or adds into. */
    private static void write(CpuBuffer... buffers) {
        for (CpuBuffer b : buffers) if (b != null) b.forWrite();
    }

    @Override
    protected CpuBuffer own(String op, Buffer b) {
        if (b instanceof CpuBuffer cb && cb.backend() == this) return cb;
        throw new IllegalArgumentException(op + ": buffer " + b + " does not belong to this cpu backend");
    }
}
