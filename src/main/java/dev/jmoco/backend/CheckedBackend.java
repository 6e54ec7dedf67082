package dev.jmoco.backend;

/**
 * The one place where every {@link Backend} op checks its arguments and unwraps its buffers: each public op is
 * final, rejects a wrong call with a message that names the op and the argument (the same on every backend),
 * unwraps each buffer with {@link #own} and hands the result to the op's body, the {@code do...} method a
 * backend implements. A backend therefore writes only op bodies, on its own buffer type {@code B}, and may
 * trust their arguments.
 */
public abstract class CheckedBackend<B extends Buffer> implements Backend {

    /** {@code b} as this backend's buffer, or IllegalArgumentException naming {@code op} and the buffer. */
    protected abstract B own(String op, Buffer b);

    private B ownOrNull(String op, Buffer b) { return b == null ? null : own(op, b); }

    // ---- memory -------------------------------------------------------------------------------------------

    @Override
    public final void upload(float[] src, int srcOffset, Buffer dst) {
        if (srcOffset < 0 || srcOffset + dst.size() > src.length)
            throw new IllegalArgumentException("upload: source of " + src.length + " floats has no "
                    + dst.size() + " floats at offset " + srcOffset);
        doUpload(src, srcOffset, own("upload", dst));
    }

    @Override
    public final void download(Buffer src, float[] dst, int dstOffset) {
        if (dstOffset < 0 || dstOffset + src.size() > dst.length)
            throw new IllegalArgumentException("download: destination of " + dst.length + " floats has no room for "
                    + src.size() + " floats at offset " + dstOffset);
        doDownload(own("download", src), dst, dstOffset);
    }

    @Override
    public final void copy(Buffer src, Buffer dst) {
        Checks.size("copy", "dst", dst, src.size());
        doCopy(own("copy", src), own("copy", dst));
    }

    @Override public final void fill(Buffer dst, float value) { doFill(own("fill", dst), value); }

    protected abstract void doUpload(float[] src, int srcOffset, B dst);
    protected abstract void doDownload(B src, float[] dst, int dstOffset);
    protected abstract void doCopy(B src, B dst);
    protected abstract void doFill(B dst, float value);

    // ---- dense algebra ------------------------------------------------------------------------------------

    @Override
    public final void gemm(boolean transA, boolean transB, int m, int n, int k,
                           float alpha, Buffer a, Buffer b, float beta, Buffer c) {
        String op = "gemm";
        Checks.positive(op, "m", m, "n", n, "k", k);
        Checks.size(op, transA ? "A [k, m]" : "A [m, k]", a, (long) m * k);
        Checks.size(op, transB ? "B [n, k]" : "B [k, n]", b, (long) k * n);
        Checks.size(op, "C [m, n]", c, (long) m * n);
        doGemm(transA, transB, m, n, k, alpha, own(op, a), own(op, b), beta, own(op, c));
    }

    @Override
    public final void add(float alpha, Buffer x, float beta, Buffer y, Buffer out) {
        Checks.size("add", "y", y, x.size());
        Checks.size("add", "out", out, x.size());
        doAdd(alpha, own("add", x), beta, own("add", y), own("add", out));
    }

    @Override
    public final void addBias(int rows, int cols, Buffer bias, Buffer y) {
        Checks.size("addBias", "bias", bias, cols);
        Checks.size("addBias", "y", y, (long) rows * cols);
        doAddBias(rows, cols, own("addBias", bias), own("addBias", y));
    }

    @Override
    public final void biasBackward(int rows, int cols, Buffer dy, Buffer dbias) {
        Checks.size("biasBackward", "dy", dy, (long) rows * cols);
        Checks.size("biasBackward", "dbias", dbias, cols);
        doBiasBackward(rows, cols, own("biasBackward", dy), own("biasBackward", dbias));
    }

    @Override
    public final void relu(Buffer x, Buffer y) {
        Checks.size("relu", "y", y, x.size());
        doRelu(own("relu", x), own("relu", y));
    }

    @Override
    public final void reluBackward(Buffer y, Buffer dy, Buffer dx) {
        String op = "reluBackward";
        Checks.size(op, "dy", dy, y.size());
        Checks.size(op, "dx", dx, y.size());
        doReluBackward(own(op, y), own(op, dy), own(op, dx));
    }

    protected abstract void doGemm(boolean transA, boolean transB, int m, int n, int k,
                                   float alpha, B a, B b, float beta, B c);
    protected abstract void doAdd(float alpha, B x, float beta, B y, B out);
    protected abstract void doAddBias(int rows, int cols, B bias, B y);
    protected abstract void doBiasBackward(int rows, int cols, B dy, B dbias);
    protected abstract void doRelu(B x, B y);
    protected abstract void doReluBackward(B y, B dy, B dx);

    // ---- convolution and pooling --------------------------------------------------------------------------

    @Override
    public final void conv2d(ConvShape s, Buffer x, Buffer w, Buffer y) {
        String op = "conv2d";
        Checks.size(op, "x", x, s.inputSize());
        Checks.size(op, "w", w, s.filterSize());
        Checks.size(op, "y", y, s.outputSize());
        doConv2d(s, own(op, x), own(op, w), own(op, y));
    }

    @Override
    public final void conv2dBackwardData(ConvShape s, Buffer dy, Buffer w, Buffer dx) {
        String op = "conv2dBackwardData";
        Checks.size(op, "dy", dy, s.outputSize());
        Checks.size(op, "w", w, s.filterSize());
        Checks.size(op, "dx", dx, s.inputSize());
        doConv2dBackwardData(s, own(op, dy), own(op, w), own(op, dx));
    }

    @Override
    public final void conv2dBackwardFilter(ConvShape s, Buffer x, Buffer dy, Buffer dw) {
        String op = "conv2dBackwardFilter";
        Checks.size(op, "x", x, s.inputSize());
        Checks.size(op, "dy", dy, s.outputSize());
        Checks.size(op, "dw", dw, s.filterSize());
        doConv2dBackwardFilter(s, own(op, x), own(op, dy), own(op, dw));
    }

    @Override
    public final void maxPool(PoolShape s, Buffer x, Buffer y, Buffer argmax) {
        String op = "maxPool";
        Checks.size(op, "x", x, s.inputSize());
        Checks.size(op, "y", y, s.outputSize());
        Checks.size(op, "argmax", argmax, s.outputSize());
        doMaxPool(s, own(op, x), own(op, y), own(op, argmax));
    }

    @Override
    public final void maxPoolBackward(PoolShape s, Buffer dy, Buffer argmax, Buffer dx) {
        String op = "maxPoolBackward";
        Checks.size(op, "dy", dy, s.outputSize());
        Checks.size(op, "argmax", argmax, s.outputSize());
        Checks.size(op, "dx", dx, s.inputSize());
        doMaxPoolBackward(s, own(op, dy), own(op, argmax), own(op, dx));
    }

    @Override
    public final void globalAvgPool(int n, int c, int hw, Buffer x, Buffer y) {
        String op = "globalAvgPool";
        Checks.positive(op, "n", n, "c", c, "hw", hw);
        Checks.size(op, "x", x, (long) n * c * hw);
        Checks.size(op, "y", y, (long) n * c);
        doGlobalAvgPool(n, c, hw, own(op, x), own(op, y));
    }

    @Override
    public final void globalAvgPoolBackward(int n, int c, int hw, Buffer dy, Buffer dx) {
        String op = "globalAvgPoolBackward";
        Checks.positive(op, "n", n, "c", c, "hw", hw);
        Checks.size(op, "dy", dy, (long) n * c);
        Checks.size(op, "dx", dx, (long) n * c * hw);
        doGlobalAvgPoolBackward(n, c, hw, own(op, dy), own(op, dx));
    }

    protected abstract void doConv2d(ConvShape s, B x, B w, B y);
    protected abstract void doConv2dBackwardData(ConvShape s, B dy, B w, B dx);
    protected abstract void doConv2dBackwardFilter(ConvShape s, B x, B dy, B dw);
    protected abstract void doMaxPool(PoolShape s, B x, B y, B argmax);
    protected abstract void doMaxPoolBackward(PoolShape s, B dy, B argmax, B dx);
    protected abstract void doGlobalAvgPool(int n, int c, int hw, B x, B y);
    protected abstract void doGlobalAvgPoolBackward(int n, int c, int hw, B dy, B dx);

    // ---- normalisation ------------------------------------------------------------------------------------

    @Override
    public final void batchNormTrain(BatchNormShape s, Buffer x, Buffer gamma, Buffer beta, Buffer y,
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
        // The unbiased variance of one value is undefined; PyTorch refuses too.
        if ((long) s.groupSize() * s.hw() == 1)
            throw new IllegalArgumentException("batchnorm: training needs more than one value per channel and group,"
                    + " got n = " + s.n() + ", groups = " + s.groups() + ", hw = " + s.hw());
        doBatchNormTrain(s, own(op, x), own(op, gamma), own(op, beta), own(op, y), own(op, mean), own(op, invStd),
                own(op, runningMean), own(op, runningVar), momentum, eps);
    }

    @Override
    public final void batchNormEval(BatchNormShape s, Buffer x, Buffer gamma, Buffer beta,
                                    Buffer runningMean, Buffer runningVar, float eps, Buffer y) {
        String op = "batchNormEval";
        Checks.size(op, "x", x, s.size());
        Checks.size(op, "y", y, s.size());
        Checks.size(op, "gamma", gamma, s.c());
        Checks.size(op, "beta", beta, s.c());
        Checks.size(op, "runningMean", runningMean, s.c());
        Checks.size(op, "runningVar", runningVar, s.c());
        doBatchNormEval(s, own(op, x), own(op, gamma), own(op, beta), own(op, runningMean), own(op, runningVar), eps,
                own(op, y));
    }

    @Override
    public final void batchNormBackward(BatchNormShape s, Buffer x, Buffer dy, Buffer gamma, Buffer mean,
                                        Buffer invStd, Buffer dx, Buffer dgamma, Buffer dbeta) {
        String op = "batchNormBackward";
        Checks.size(op, "x", x, s.size());
        Checks.size(op, "dy", dy, s.size());
        Checks.size(op, "dx", dx, s.size());
        Checks.size(op, "gamma", gamma, s.c());
        Checks.size(op, "mean", mean, s.statsSize());
        Checks.size(op, "invStd", invStd, s.statsSize());
        Checks.size(op, "dgamma", dgamma, s.c());
        Checks.size(op, "dbeta", dbeta, s.c());
        doBatchNormBackward(s, own(op, x), own(op, dy), own(op, gamma), own(op, mean), own(op, invStd), own(op, dx),
                own(op, dgamma), own(op, dbeta));
    }

    @Override
    public final void l2NormalizeRows(int rows, int cols, Buffer x, Buffer y, Buffer norms) {
        String op = "l2NormalizeRows";
        Checks.positive(op, "rows", rows, "cols", cols);
        Checks.size(op, "x", x, (long) rows * cols);
        Checks.size(op, "y", y, (long) rows * cols);
        Checks.size(op, "norms", norms, rows);
        doL2NormalizeRows(rows, cols, own(op, x), own(op, y), own(op, norms));
    }

    @Override
    public final void l2NormalizeRowsBackward(int rows, int cols, Buffer y, Buffer norms, Buffer dy, Buffer dx) {
        String op = "l2NormalizeRowsBackward";
        Checks.positive(op, "rows", rows, "cols", cols);
        Checks.size(op, "y", y, (long) rows * cols);
        Checks.size(op, "norms", norms, rows);
        Checks.size(op, "dy", dy, (long) rows * cols);
        Checks.size(op, "dx", dx, (long) rows * cols);
        doL2NormalizeRowsBackward(rows, cols, own(op, y), own(op, norms), own(op, dy), own(op, dx));
    }

    protected abstract void doBatchNormTrain(BatchNormShape s, B x, B gamma, B beta, B y, B mean, B invStd,
                                             B runningMean, B runningVar, float momentum, float eps);
    protected abstract void doBatchNormEval(BatchNormShape s, B x, B gamma, B beta, B runningMean, B runningVar,
                                            float eps, B y);
    protected abstract void doBatchNormBackward(BatchNormShape s, B x, B dy, B gamma, B mean, B invStd,
                                                B dx, B dgamma, B dbeta);
    protected abstract void doL2NormalizeRows(int rows, int cols, B x, B y, B norms);
    protected abstract void doL2NormalizeRowsBackward(int rows, int cols, B y, B norms, B dy, B dx);

    // ---- indexing -----------------------------------------------------------------------------------------

    @Override
    public final void gatherRows(int cols, Buffer src, int[] index, Buffer dst) {
        String op = "gatherRows";
        Checks.positive(op, "cols", cols);
        if (src.size() % cols != 0)
            throw new IllegalArgumentException(op + ": src of " + src.size() + " floats is not rows of " + cols);
        Checks.indices(op, index, index.length, src.size() / cols);
        Checks.size(op, "dst", dst, (long) index.length * cols);
        doGatherRows(cols, own(op, src), index, own(op, dst));
    }

    @Override
    public final void scatterRows(int cols, Buffer src, int[] index, Buffer dst, boolean accumulate) {
        String op = "scatterRows";
        Checks.positive(op, "cols", cols);
        if (dst.size() % cols != 0)
            throw new IllegalArgumentException(op + ": dst of " + dst.size() + " floats is not rows of " + cols);
        Checks.indices(op, index, index.length, dst.size() / cols);
        Checks.size(op, "src", src, (long) index.length * cols);
        doScatterRows(cols, own(op, src), index, own(op, dst), accumulate);
    }

    protected abstract void doGatherRows(int cols, B src, int[] index, B dst);
    protected abstract void doScatterRows(int cols, B src, int[] index, B dst, boolean accumulate);

    // ---- fused losses -------------------------------------------------------------------------------------

    @Override
    public final void softmaxCrossEntropy(int rows, int cols, Buffer logits, int[] labels, float gradScale,
                                          Buffer stats, Buffer dlogits) {
        String op = "softmaxCrossEntropy";
        Checks.positive(op, "rows", rows, "cols", cols);
        Checks.size(op, "logits", logits, (long) rows * cols);
        Checks.indices(op, labels, rows, cols);
        Checks.size(op, "stats", stats, 3);
        Checks.size(op, "dlogits", dlogits, (long) rows * cols);
        doSoftmaxCrossEntropy(rows, cols, own(op, logits), labels, gradScale, own(op, stats), own(op, dlogits));
    }

    @Override
    public final void infoNce(int n, int c, int kq, float t, Buffer q, Buffer k, Buffer queue, float gradScale,
                              Buffer stats, Buffer dq, Buffer dk) {
        String op = "infoNce";
        Checks.positive(op, "n", n, "c", c, "queue rows", kq);
        if (!(t > 0) || !Float.isFinite(t))
            throw new IllegalArgumentException(op + ": temperature must be > 0, got " + t);
        Checks.size(op, "q [n, c]", q, (long) n * c);
        Checks.size(op, "k [n, c]", k, (long) n * c);
        Checks.size(op, "queue [K, c]", queue, (long) kq * c);
        Checks.size(op, "stats", stats, 3);
        Checks.size(op, "dq [n, c]", dq, (long) n * c);
        if (dk != null) Checks.size(op, "dk [n, c]", dk, (long) n * c);
        doInfoNce(n, c, kq, t, own(op, q), own(op, k), own(op, queue), gradScale, own(op, stats), own(op, dq),
                ownOrNull(op, dk));
    }

    protected abstract void doSoftmaxCrossEntropy(int rows, int cols, B logits, int[] labels, float gradScale,
                                                  B stats, B dlogits);
    /** {@code dk} is null when the key encoder gets no gradient. */
    protected abstract void doInfoNce(int n, int c, int kq, float t, B q, B k, B queue, float gradScale,
                                      B stats, B dq, B dk);

    // ---- MoCo state updates -------------------------------------------------------------------------------

    @Override
    public final void ema(float m, Buffer target, Buffer source) {
        Checks.size("ema", "source", source, target.size());
        doEma(m, own("ema", target), own("ema", source));
    }

    @Override
    public final void enqueue(Buffer queue, int capacity, int c, Buffer keys, int n, int ptr) {
        String op = "enqueue";
        Checks.positive(op, "capacity", capacity, "c", c, "n", n);
        if (n > capacity) throw new IllegalArgumentException(op + ": " + n + " keys exceed queue capacity " + capacity);
        if (ptr < 0 || ptr >= capacity)
            throw new IllegalArgumentException(op + ": pointer " + ptr + " outside [0, " + capacity + ")");
        Checks.size(op, "queue [capacity, c]", queue, (long) capacity * c);
        Checks.size(op, "keys [n, c]", keys, (long) n * c);
        doEnqueue(own(op, queue), capacity, c, own(op, keys), n, ptr);
    }

    @Override
    public final void sgd(float lr, float momentum, float weightDecay, Buffer param, Buffer grad, Buffer velocity) {
        Checks.size("sgd", "grad", grad, param.size());
        Checks.size("sgd", "velocity", velocity, param.size());
        doSgd(lr, momentum, weightDecay, own("sgd", param), own("sgd", grad), own("sgd", velocity));
    }

    protected abstract void doEma(float m, B target, B source);
    protected abstract void doEnqueue(B queue, int capacity, int c, B keys, int n, int ptr);
    protected abstract void doSgd(float lr, float momentum, float weightDecay, B param, B grad, B velocity);
}
