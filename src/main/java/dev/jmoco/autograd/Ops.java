package dev.jmoco.autograd;

/**
 * The differentiable ops as static functions: the one place layers call. Each validates shapes (messages
 * name the op and both shapes), runs the backend's forward, and records itself on the current {@link Tape}
 * when an input requires a gradient. Nothing broadcasts.
 */
public final class Ops {
    private Ops() {}

    /** y = op(a) op(b) for 2-D a, b; {@code transA}/{@code transB} read a or b as stored transposed. */
    public static Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        return MatMulOp.apply(a, b, transA, transB);
    }

    /** y = a b. */
    public static Tensor matmul(Tensor a, Tensor b) { return MatMulOp.apply(a, b, false, false); }

    /** y [n, out] = x [n, in] W^T + bias, W [out, in]; {@code bias} [out] may be null. */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) { return LinearOp.apply(x, weight, bias); }

    /** Convolution of x [n, c, h, w] with weight [k, c, r, s], no bias. */
    public static Tensor conv2d(Tensor x, Tensor weight, int stride, int pad) {
        return Conv2dOp.apply(x, weight, stride, pad);
    }

    /**
     * Training-mode batch norm with statistics per group of the batch (grouping as Backend#batchNormTrain
     * defines it; groups = 1 is plain BN); updates the running statistics in place:
     * running = (1 - momentum) running + momentum batch.
     */
    public static Tensor batchNorm2d(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                     int groups, float momentum, float eps) {
        return BatchNorm2dOp.train(x, gamma, beta, runningMean, runningVar, groups, momentum, eps);
    }

    /** Eval-mode batch norm with the running statistics; has no backward (inference, frozen features). */
    public static Tensor batchNorm2dEval(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                         Tensor runningVar, float eps) {
        return BatchNorm2dOp.eval(x, gamma, beta, runningMean, runningVar, eps);
    }

    /** y = alpha x. */
    public static Tensor scale(Tensor x, float alpha) { return ScaleOp.apply(x, alpha); }

    /** y = max(x, 0). */
    public static Tensor relu(Tensor x) { return ReluOp.apply(x); }

    /** a + b over equal shapes. */
    public static Tensor add(Tensor a, Tensor b) { return AddOp.apply(a, b); }

    /** Max pooling of x [n, c, h, w]; padding counts as -infinity. */
    public static Tensor maxPool2d(Tensor x, int window, int stride, int pad) {
        return MaxPool2dOp.apply(x, window, stride, pad);
    }

    /** Mean over each plane: x [n, c, h, w] to [n, c]. */
    public static Tensor globalAvgPool(Tensor x) { return GlobalAvgPoolOp.apply(x); }

    /** Each row of x [rows, cols] divided by its L2 norm. */
    public static Tensor l2NormalizeRows(Tensor x) { return L2NormalizeOp.apply(x); }

    /** Rows x[index[i]] along the first dimension; backward scatter-adds. */
    public static Tensor gatherRows(Tensor x, int[] index) { return GatherRowsOp.apply(x, index); }

    /** Mean softmax cross-entropy of logits [n, classes] with labels; a root of backward. */
    public static Loss softmaxCrossEntropy(Tensor logits, int[] labels) {
        return SoftmaxCrossEntropyOp.apply(logits, labels);
    }

    /**
     * MoCo's InfoNCE of q [n, c] against its positives k [n, c] and the negatives in queue [K, c] at temperature
     * t; a root of backward. k gets a gradient only if it requires one (end-to-end); the queue never does.
     */
    public static Loss infoNce(Tensor q, Tensor k, Tensor queue, float t) { return InfoNceOp.apply(q, k, queue, t); }
}
