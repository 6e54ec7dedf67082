package dev.jmoco.backend.kernel;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.BatchNormShape;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.ConvShape;
import dev.jmoco.backend.OpChecks;
import dev.jmoco.backend.PoolShape;

/**
 * A backend that runs the op set on the shared kernels: every compute op checks its arguments
 * ({@link OpChecks}, shared with the CPU backend), unwraps its buffers with {@link #own} and hands them to one
 * op-family class. A device runtime (OpenCL, CUDA) extends it with its memory ops and the
 * {@link KernelRuntime} methods, calls {@link #initKernels} once it can launch, and may override an op with a
 * faster path of its own (a vendor GEMM or convolution).
 */
public abstract class KernelBackend implements Backend, KernelRuntime {
    protected ElementwiseKernels elementwise;
    protected UpdateKernels updates;
    protected GemmKernels gemm;
    protected ConvKernels conv;
    protected BatchNormKernels batchNorm;
    protected PoolingKernels pooling;
    protected RowsKernels rows;
    protected LossKernels losses;

    /** Creates the op-family objects; call once the runtime can answer its limits and launch kernels. */
    protected final void initKernels() {
        elementwise = new ElementwiseKernels(this);
        updates = new UpdateKernels(this);
        gemm = new GemmKernels(this);
        conv = new ConvKernels(this, gemm);
        batchNorm = new BatchNormKernels(this);
        pooling = new PoolingKernels(this);
        rows = new RowsKernels(this);
        losses = new LossKernels(this, gemm);
    }

    // ---- dense algebra ------------------------------------------------------------------------------------

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k,
                     float alpha, Buffer a, Buffer b, float beta, Buffer c) {
        OpChecks.gemm(transA, transB, m, n, k, a, b, c);
        gemm.gemm(transA, transB, m, n, k, alpha, own("gemm", a), own("gemm", b), beta, own("gemm", c));
    }

    @Override
    public void add(float alpha, Buffer x, float beta, Buffer y, Buffer out) {
        OpChecks.add(x, y, out);
        elementwise.add(alpha, own("add", x), beta, own("add", y), own("add", out));
    }

    @Override
    public void addBias(int rows, int cols, Buffer bias, Buffer y) {
        OpChecks.addBias(rows, cols, bias, y);
        elementwise.addBias(rows, cols, own("addBias", bias), own("addBias", y));
    }

    @Override
    public void biasBackward(int rows, int cols, Buffer dy, Buffer dbias) {
        OpChecks.biasBackward(rows, cols, dy, dbias);
        elementwise.biasBackward(rows, cols, own("biasBackward", dy), own("biasBackward", dbias));
    }

    @Override
    public void relu(Buffer x, Buffer y) {
        OpChecks.relu(x, y);
        elementwise.relu(own("relu", x), own("relu", y));
    }

    @Override
    public void reluBackward(Buffer y, Buffer dy, Buffer dx) {
        OpChecks.reluBackward(y, dy, dx);
        elementwise.reluBackward(own("reluBackward", y), own("reluBackward", dy), own("reluBackward", dx));
    }

    // ---- convolution and pooling --------------------------------------------------------------------------

    @Override
    public void conv2d(ConvShape s, Buffer x, Buffer w, Buffer y) {
        OpChecks.conv2d(s, x, w, y);
        conv.forward(s, own("conv2d", x), own("conv2d", w), own("conv2d", y));
    }

    @Override
    public void conv2dBackwardData(ConvShape s, Buffer dy, Buffer w, Buffer dx) {
        String op = "conv2dBackwardData";
        OpChecks.conv2dBackwardData(s, dy, w, dx);
        conv.backwardData(s, own(op, dy), own(op, w), own(op, dx));
    }

    @Override
    public void conv2dBackwardFilter(ConvShape s, Buffer x, Buffer dy, Buffer dw) {
        String op = "conv2dBackwardFilter";
        OpChecks.conv2dBackwardFilter(s, x, dy, dw);
        conv.backwardFilter(s, own(op, x), own(op, dy), own(op, dw));
    }

    @Override
    public void maxPool(PoolShape s, Buffer x, Buffer y, Buffer argmax) {
        OpChecks.maxPool(s, x, y, argmax);
        pooling.maxPool(s, own("maxPool", x), own("maxPool", y), own("maxPool", argmax));
    }

    @Override
    public void maxPoolBackward(PoolShape s, Buffer dy, Buffer argmax, Buffer dx) {
        String op = "maxPoolBackward";
        OpChecks.maxPoolBackward(s, dy, argmax, dx);
        pooling.maxPoolBackward(s, own(op, dy), own(op, argmax), own(op, dx));
    }

    @Override
    public void globalAvgPool(int n, int c, int hw, Buffer x, Buffer y) {
        OpChecks.globalAvgPool(n, c, hw, x, y);
        pooling.globalAvgPool(n, c, hw, own("globalAvgPool", x), own("globalAvgPool", y));
    }

    @Override
    public void globalAvgPoolBackward(int n, int c, int hw, Buffer dy, Buffer dx) {
        String op = "globalAvgPoolBackward";
        OpChecks.globalAvgPoolBackward(n, c, hw, dy, dx);
        pooling.globalAvgPoolBackward(n, c, hw, own(op, dy), own(op, dx));
    }

    // ---- normalisation ------------------------------------------------------------------------------------

    @Override
    public void batchNormTrain(BatchNormShape s, Buffer x, Buffer gamma, Buffer beta, Buffer y,
                               Buffer mean, Buffer invStd, Buffer runningMean, Buffer runningVar,
                               float momentum, float eps) {
        String op = "batchNormTrain";
        OpChecks.batchNormTrain(s, x, gamma, beta, y, mean, invStd, runningMean, runningVar);
        batchNorm.train(s, own(op, x), own(op, gamma), own(op, beta), own(op, y), own(op, mean), own(op, invStd),
                own(op, runningMean), own(op, runningVar), momentum, eps);
    }

    @Override
    public void batchNormEval(BatchNormShape s, Buffer x, Buffer gamma, Buffer beta,
                              Buffer runningMean, Buffer runningVar, float eps, Buffer y) {
        String op = "batchNormEval";
        OpChecks.batchNormEval(s, x, gamma, beta, runningMean, runningVar, y);
        batchNorm.eval(s, own(op, x), own(op, gamma), own(op, beta), own(op, runningMean), own(op, runningVar), eps,
                own(op, y));
    }

    @Override
    public void batchNormBackward(BatchNormShape s, Buffer x, Buffer dy, Buffer gamma, Buffer mean, Buffer invStd,
                                  Buffer dx, Buffer dgamma, Buffer dbeta) {
        String op = "batchNormBackward";
        OpChecks.batchNormBackward(s, x, dy, gamma, mean, invStd, dx, dgamma, dbeta);
        batchNorm.backward(s, own(op, x), own(op, dy), own(op, gamma), own(op, mean), own(op, invStd), own(op, dx),
                own(op, dgamma), own(op, dbeta));
    }

    @Override
    public void l2NormalizeRows(int rows, int cols, Buffer x, Buffer y, Buffer norms) {
        String op = "l2NormalizeRows";
        OpChecks.l2NormalizeRows(rows, cols, x, y, norms);
        this.rows.l2Normalize(rows, cols, own(op, x), own(op, y), own(op, norms));
    }

    @Override
    public void l2NormalizeRowsBackward(int rows, int cols, Buffer y, Buffer norms, Buffer dy, Buffer dx) {
        String op = "l2NormalizeRowsBackward";
        OpChecks.l2NormalizeRowsBackward(rows, cols, y, norms, dy, dx);
        this.rows.l2NormalizeBackward(rows, cols, own(op, y), own(op, norms), own(op, dy), own(op, dx));
    }

    // ---- indexing -----------------------------------------------------------------------------------------

    @Override
    public void gatherRows(int cols, Buffer src, int[] index, Buffer dst) {
        OpChecks.gatherRows(cols, src, index, dst);
        rows.gather(cols, own("gatherRows", src), index, own("gatherRows", dst));
    }

    @Override
    public void scatterRows(int cols, Buffer src, int[] index, Buffer dst, boolean accumulate) {
        OpChecks.scatterRows(cols, src, index, dst);
        rows.scatter(cols, own("scatterRows", src), index, own("scatterRows", dst), accumulate);
    }

    // ---- fused losses -------------------------------------------------------------------------------------

    @Override
    public void softmaxCrossEntropy(int rows, int cols, Buffer logits, int[] labels, float gradScale,
                                    Buffer stats, Buffer dlogits) {
        String op = "softmaxCrossEntropy";
        OpChecks.softmaxCrossEntropy(rows, cols, logits, labels, stats, dlogits);
        losses.softmaxCrossEntropy(rows, cols, own(op, logits), labels, gradScale, own(op, stats), own(op, dlogits));
    }

    @Override
    public void infoNce(int n, int c, int kq, float t, Buffer q, Buffer k, Buffer queue, float gradScale,
                        Buffer stats, Buffer dq, Buffer dk) {
        String op = "infoNce";
        OpChecks.infoNce(n, c, kq, t, q, k, queue, stats, dq, dk);
        losses.infoNce(n, c, kq, t, own(op, q), own(op, k), own(op, queue), gradScale, own(op, stats), own(op, dq),
                dk == null ? null : own(op, dk));
    }

    // ---- MoCo state updates -------------------------------------------------------------------------------

    @Override
    public void ema(float m, Buffer target, Buffer source) {
        OpChecks.ema(target, source);
        updates.ema(m, own("ema", target), own("ema", source));
    }

    @Override
    public void enqueue(Buffer queue, int capacity, int c, Buffer keys, int n, int ptr) {
        OpChecks.enqueue(queue, capacity, c, keys, n, ptr);
        updates.enqueue(own("enqueue", queue), capacity, c, own("enqueue", keys), n, ptr);
    }

    @Override
    public void sgd(float lr, float momentum, float weightDecay, Buffer param, Buffer grad, Buffer velocity) {
        OpChecks.sgd(param, grad, velocity);
        updates.sgd(lr, momentum, weightDecay, own("sgd", param), own("sgd", grad), own("sgd", velocity));
    }

    /** Waits for queued work, then releases every buffer (pooled or still open), the kernels and the context. */
}
