package dev.jmoco.backend;

/**
 * The argument checks of every {@link Backend} op, in one place so that every backend rejects the same calls
 * with the same messages (each names the op and the argument). A backend calls {@code OpChecks.op(...)} with
 * the op's arguments, then unwraps its buffers and runs the op; these methods only read sizes and host arrays.
 */
public final class OpChecks {
    private OpChecks() {}

    // ---- memory -------------------------------------------------------------------------------------------

    public static void upload(float[] src, int srcOffset, Buffer dst) {
        if (srcOffset < 0 || srcOffset + dst.size() > src.length)
            throw new IllegalArgumentException("upload: source of " + src.length + " floats has no "
                    + dst.size() + " floats at offset " + srcOffset);
    }

    public static void download(Buffer src, float[] dst, int dstOffset) {
        if (dstOffset < 0 || dstOffset + src.size() > dst.length)
            throw new IllegalArgumentException("download: destination of " + dst.length + " floats has no room for "
                    + src.size() + " floats at offset " + dstOffset);
    }

    public static void copy(Buffer src, Buffer dst) { Checks.size("copy", "dst", dst, src.size()); }

    // ---- dense algebra ------------------------------------------------------------------------------------

    public static void gemm(boolean transA, boolean transB, int m, int n, int k, Buffer a, Buffer b, Buffer c) {
        Checks.positive("gemm", "m", m, "n", n, "k", k);
        Checks.size("gemm", transA ? "A [k, m]" : "A [m, k]", a, (long) m * k);
        Checks.size("gemm", transB ? "B [n, k]" : "B [k, n]", b, (long) k * n);
        Checks.size("gemm", "C [m, n]", c, (long) m * n);
    }

    public static void add(Buffer x, Buffer y, Buffer out) {
        Checks.size("add", "y", y, x.size());
        Checks.size("add", "out", out, x.size());
    }

    public static void addBias(int rows, int cols, Buffer bias, Buffer y) {
        Checks.size("addBias", "bias", bias, cols);
        Checks.size("addBias", "y", y, (long) rows * cols);
    }

    public static void biasBackward(int rows, int cols, Buffer dy, Buffer dbias) {
        Checks.size("biasBackward", "dy", dy, (long) rows * cols);
        Checks.size("biasBackward", "dbias", dbias, cols);
    }

    public static void relu(Buffer x, Buffer y) { Checks.size("relu", "y", y, x.size()); }

    public static void reluBackward(Buffer y, Buffer dy, Buffer dx) {
        Checks.size("reluBackward", "dy", dy, y.size());
        Checks.size("reluBackward", "dx", dx, y.size());
    }

    // ---- convolution and pooling --------------------------------------------------------------------------

    public static void conv2d(ConvShape s, Buffer x, Buffer w, Buffer y) {
        Checks.size("conv2d", "x", x, s.inputSize());
        Checks.size("conv2d", "w", w, s.filterSize());
        Checks.size("conv2d", "y", y, s.outputSize());
    }

    public static void conv2dBackwardData(ConvShape s, Buffer dy, Buffer w, Buffer dx) {
        Checks.size("conv2dBackwardData", "dy", dy, s.outputSize());
        Checks.size("conv2dBackwardData", "w", w, s.filterSize());
        Checks.size("conv2dBackwardData", "dx", dx, s.inputSize());
    }

    public static void conv2dBackwardFilter(ConvShape s, Buffer x, Buffer dy, Buffer dw) {
        Checks.size("conv2dBackwardFilter", "x", x, s.inputSize());
        Checks.size("conv2dBackwardFilter", "dy", dy, s.outputSize());
        Checks.size("conv2dBackwardFilter", "dw", dw, s.filterSize());
    }

    public static void maxPool(PoolShape s, Buffer x, Buffer y, Buffer argmax) {
        Checks.size("maxPool", "x", x, s.inputSize());
        Checks.size("maxPool", "y", y, s.outputSize());
        Checks.size("maxPool", "argmax", argmax, s.outputSize());
    }

    public static void maxPoolBackward(PoolShape s, Buffer dy, Buffer argmax, Buffer dx) {
        Checks.size("maxPoolBackward", "dy", dy, s.outputSize());
        Checks.size("maxPoolBackward", "argmax", argmax, s.outputSize());
        Checks.size("maxPoolBackward", "dx", dx, s.inputSize());
    }

    public static void globalAvgPool(int n, int c, int hw, Buffer x, Buffer y) {
        Checks.positive("globalAvgPool", "n", n, "c", c, "hw", hw);
        Checks.size("globalAvgPool", "x", x, (long) n * c * hw);
        Checks.size("globalAvgPool", "y", y, (long) n * c);
    }

    public static void globalAvgPoolBackward(int n, int c, int hw, Buffer dy, Buffer dx) {
        Checks.positive("globalAvgPoolBackward", "n", n, "c", c, "hw", hw);
        Checks.size("globalAvgPoolBackward", "dy", dy, (long) n * c);
        Checks.size("globalAvgPoolBackward", "dx", dx, (long) n * c * hw);
    }

    // ---- normalisation ------------------------------------------------------------------------------------

    public static void batchNormTrain(BatchNormShape s, Buffer x, Buffer gamma, Buffer beta, Buffer y,
                                      Buffer mean, Buffer invStd, Buffer runningMean, Buffer runningVar) {
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
    }

    public static void batchNormEval(BatchNormShape s, Buffer x, Buffer gamma, Buffer beta,
                                     Buffer runningMean, Buffer runningVar, Buffer y) {
        String op = "batchNormEval";
        Checks.size(op, "x", x, s.size());
        Checks.size(op, "y", y, s.size());
        Checks.size(op, "gamma", gamma, s.c());
        Checks.size(op, "beta", beta, s.c());
        Checks.size(op, "runningMean", runningMean, s.c());
        Checks.size(op, "runningVar", runningVar, s.c());
    }

    public static void batchNormBackward(BatchNormShape s, Buffer x, Buffer dy, Buffer gamma, Buffer mean,
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
    }

    public static void l2NormalizeRows(int rows, int cols, Buffer x, Buffer y, Buffer norms) {
        String op = "l2NormalizeRows";
        Checks.positive(op, "rows", rows, "cols", cols);
        Checks.size(op, "x", x, (long) rows * cols);
        Checks.size(op, "y", y, (long) rows * cols);
        Checks.size(op, "norms", norms, rows);
    }

    public static void l2NormalizeRowsBackward(int rows, int cols, Buffer y, Buffer norms, Buffer dy, Buffer dx) {
        String op = "l2NormalizeRowsBackward";
        Checks.positive(op, "rows", rows, "cols", cols);
        Checks.size(op, "y", y, (long) rows * cols);
        Checks.size(op, "norms", norms, rows);
        Checks.size(op, "dy", dy, (long) rows * cols);
        Checks.size(op, "dx", dx, (long) rows * cols);
    }

    // ---- indexing -----------------------------------------------------------------------------------------

    public static void gatherRows(int cols, Buffer src, int[] index, Buffer dst) {
        String op = "gatherRows";
        Checks.positive(op, "cols", cols);
        if (src.size() % cols != 0)
            throw new IllegalArgumentException(op + ": src of " + src.size() + " floats is not rows of " + cols);
        Checks.indices(op, index, index.length, src.size() / cols);
        Checks.size(op, "dst", dst, (long) index.length * cols);
    }

    public static void scatterRows(int cols, Buffer src, int[] index, Buffer dst) {
        String op = "scatterRows";
        Checks.positive(op, "cols", cols);
        if (dst.size() % cols != 0)
            throw new IllegalArgumentException(op + ": dst of " + dst.size() + " floats is not rows of " + cols);
        Checks.indices(op, index, index.length, dst.size() / cols);
        Checks.size(op, "src", src, (long) index.length * cols);
    }

    // ---- fused losses -------------------------------------------------------------------------------------

    public static void softmaxCrossEntropy(int rows, int cols, Buffer logits, int[] labels, Buffer stats,
                                           Buffer dlogits) {
        String op = "softmaxCrossEntropy";
        Checks.positive(op, "rows", rows, "cols", cols);
        Checks.size(op, "logits", logits, (long) rows * cols);
        Checks.indices(op, labels, rows, cols);
        Checks.size(op, "stats", stats, 3);
        Checks.size(op, "dlogits", dlogits, (long) rows * cols);
    }

    public static void infoNce(int n, int c, int kq, float t, Buffer q, Buffer k, Buffer queue, Buffer stats,
                               Buffer dq, Buffer dk) {
        String op = "infoNce";
        Checks.positive(op, "n", n, "c", c, "queue rows", kq);
        if (!(t > 0) || !Float.isFinite(t)) throw new IllegalArgumentException(op + ": temperature must be > 0, got " + t);
        Checks.size(op, "q [n, c]", q, (long) n * c);
        Checks.size(op, "k [n, c]", k, (long) n * c);
        Checks.size(op, "queue [K, c]", queue, (long) kq * c);
        Checks.size(op, "stats", stats, 3);
        Checks.size(op, "dq [n, c]", dq, (long) n * c);
        if (dk != null) Checks.size(op, "dk [n, c]", dk, (long) n * c);
    }

    // ---- MoCo state updates -------------------------------------------------------------------------------

    public static void ema(Buffer target, Buffer source) { Checks.size("ema", "source", source, target.size()); }

    public static void enqueue(Buffer queue, int capacity, int c, Buffer keys, int n, int ptr) {
        String op = "enqueue";
        Checks.positive(op, "capacity", capacity, "c", c, "n", n);
        if (n > capacity) throw new IllegalArgumentException(op + ": " + n + " keys exceed queue capacity " + capacity);
        if (ptr < 0 || ptr >= capacity)
            throw new IllegalArgumentException(op + ": pointer " + ptr + " outside [0, " + capacity + ")");
        Checks.size(op, "queue [capacity, c]", queue, (long) capacity * c);
        Checks.size(op, "keys [n, c]", keys, (long) n * c);
    }

    public static void sgd(Buffer param, Buffer grad, Buffer velocity) {
        Checks.size("sgd", "grad", grad, param.size());
        Checks.size("sgd", "velocity", velocity, param.size());
    }
}
