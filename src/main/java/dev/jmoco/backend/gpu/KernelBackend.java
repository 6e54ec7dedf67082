package dev.jmoco.backend.gpu;

import dev.jmoco.backend.BatchNormShape;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.CheckedBackend;
import dev.jmoco.backend.ConvShape;
import dev.jmoco.backend.PoolShape;

/**
 * A backend that runs the op set on the shared kernels: {@link CheckedBackend} checks and unwraps every op's
 * arguments, and each op body here hands its buffers to one op-family class. A device runtime (OpenCL, CUDA)
 * extends it with its memory ops and the {@link KernelRuntime} methods, calls {@link #initKernels} once it can
 * launch, and may override an op body with a faster path of its own (a vendor GEMM or convolution).
 *
 * @param <B> the runtime's buffer type
 */
public abstract class KernelBackend<B extends DeviceBuffer> extends CheckedBackend<B> implements KernelRuntime {
    protected ElementwiseKernels elementwise;
    protected UpdateKernels updates;
    protected GemmKernels gemm;
    protected ConvKernels conv;
    protected BatchNormKernels batchNorm;
    protected PoolingKernels pooling;
    protected RowsKernels rows;
    protected LossKernels losses;
    private InfoNceKernels infoNce;

    /** Creates the op-family objects; call once the runtime can answer its limits and launch kernels. */
    protected final void initKernels() {
        elementwise = new ElementwiseKernels(this);
        updates = new UpdateKernels(this);
        gemm = new GemmKernels(this);
        conv = new ConvKernels(this, gemm);
        batchNorm = new BatchNormKernels(this);
        pooling = new PoolingKernels(this);
        rows = new RowsKernels(this);
        losses = new LossKernels(this);
        infoNce = new InfoNceKernels(this);
    }

    /** Public here: the op-family classes unwrap through {@link KernelRuntime#own}. */
    @Override public abstract B own(String op, Buffer b);

    @Override protected void doFill(B dst, float value) { elementwise.fill(dst, value); }

    // ---- dense algebra ------------------------------------------------------------------------------------

    @Override
    protected void doGemm(boolean transA, boolean transB, int m, int n, int k, float alpha, B a, B b, float beta,
                          B c) {
        gemm.gemm(transA, transB, m, n, k, alpha, a, b, beta, c);
    }

    @Override
    protected void doAdd(float alpha, B x, float beta, B y, B out) { elementwise.add(alpha, x, beta, y, out); }

    @Override protected void doAddBias(int rows, int cols, B bias, B y) { elementwise.addBias(rows, cols, bias, y); }

    @Override
    protected void doBiasBackward(int rows, int cols, B dy, B dbias) {
        elementwise.biasBackward(rows, cols, dy, dbias);
    }

    @Override protected void doRelu(B x, B y) { elementwise.relu(x, y); }

    @Override protected void doReluBackward(B y, B dy, B dx) { elementwise.reluBackward(y, dy, dx); }

    // ---- convolution and pooling --------------------------------------------------------------------------

    @Override protected void doConv2d(ConvShape s, B x, B w, B y) { conv.forward(s, x, w, y); }

    @Override protected void doConv2dBackwardData(ConvShape s, B dy, B w, B dx) { conv.backwardData(s, dy, w, dx); }

    @Override
    protected void doConv2dBackwardFilter(ConvShape s, B x, B dy, B dw) { conv.backwardFilter(s, x, dy, dw); }

    @Override protected void doMaxPool(PoolShape s, B x, B y, B argmax) { pooling.maxPool(s, x, y, argmax); }

    @Override
    protected void doMaxPoolBackward(PoolShape s, B dy, B argmax, B dx) { pooling.maxPoolBackward(s, dy, argmax, dx); }

    @Override
    protected void doGlobalAvgPool(int n, int c, int hw, B x, B y) { pooling.globalAvgPool(n, c, hw, x, y); }

    @Override
    protected void doGlobalAvgPoolBackward(int n, int c, int hw, B dy, B dx) {
        pooling.globalAvgPoolBackward(n, c, hw, dy, dx);
    }

    // ---- normalisation ------------------------------------------------------------------------------------

    @Override
    protected void doBatchNormTrain(BatchNormShape s, B x, B gamma, B beta, B y, B mean, B invStd, B runningMean,
                                    B runningVar, float momentum, float eps) {
        batchNorm.train(s, x, gamma, beta, y, mean, invStd, runningMean, runningVar, momentum, eps);
    }

    @Override
    protected void doBatchNormEval(BatchNormShape s, B x, B gamma, B beta, B runningMean, B runningVar, float eps,
                                   B y) {
        batchNorm.eval(s, x, gamma, beta, runningMean, runningVar, eps, y);
    }

    @Override
    protected void doBatchNormBackward(BatchNormShape s, B x, B dy, B gamma, B mean, B invStd, B dx, B dgamma,
                                       B dbeta) {
        batchNorm.backward(s, x, dy, gamma, mean, invStd, dx, dgamma, dbeta);
    }

    @Override
    protected void doL2NormalizeRows(int rows, int cols, B x, B y, B norms) {
        this.rows.l2Normalize(rows, cols, x, y, norms);
    }

    @Override
    protected void doL2NormalizeRowsBackward(int rows, int cols, B y, B norms, B dy, B dx) {
        this.rows.l2NormalizeBackward(rows, cols, y, norms, dy, dx);
    }

    // ---- indexing -----------------------------------------------------------------------------------------

    @Override protected void doGatherRows(int cols, B src, int[] index, B dst) { rows.gather(cols, src, index, dst); }

    @Override
    protected void doScatterRows(int cols, B src, int[] index, B dst, boolean accumulate) {
        rows.scatter(cols, src, index, dst, accumulate);
    }

    // ---- fused losses -------------------------------------------------------------------------------------

    @Override
    protected void doSoftmaxCrossEntropy(int rows, int cols, B logits, int[] labels, float gradScale, B stats,
                                         B dlogits) {
        losses.softmaxCrossEntropy(rows, cols, logits, labels, gradScale, stats, dlogits);
    }

    @Override
    protected void doInfoNce(int n, int c, int kq, float t, B q, B k, B queue, float gradScale, B stats, B dq,
                             B dk) {
        infoNce.run(n, c, kq, t, q, k, queue, gradScale, stats, dq, dk);
    }

    // ---- MoCo state updates -------------------------------------------------------------------------------

    @Override protected void doEma(float m, B target, B source) { updates.ema(m, target, source); }

    @Override
    protected void doEnqueue(B queue, int capacity, int c, B keys, int n, int ptr) {
        updates.enqueue(queue, capacity, c, keys, n, ptr);
    }

    @Override
    protected void doSgd(float lr, float momentum, float weightDecay, B param, B grad, B velocity) {
        updates.sgd(lr, momentum, weightDecay, param, grad, velocity);
    }
}
