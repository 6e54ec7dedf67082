package dev.jmoco.backend;

/**
 * The op set: everything the layers above ever ask of a device. Written once against this interface, the
 * autograd core, the layers and MoCo run unchanged on every backend.
 *
 * <h2>Conventions</h2>
 * <ul>
 *   <li>All tensors are float32, dense, row-major (NCHW for images). Shapes are passed explicitly; every op
 *       checks that each buffer holds exactly the floats its shape needs and names the op and argument if not.
 *       Nothing is broadcast implicitly.</li>
 *   <li>Forward ops <em>overwrite</em> their outputs. Backward ops <em>add</em> into the gradients they
 *       produce ({@code dx += ...}), so a tensor used twice accumulates its gradient without extra kernels;
 *       the caller zeroes gradient buffers once per step. The fused losses are the exception: they
 *       <em>write</em> their input gradients (they are the root of the backward pass).</li>
 *   <li>Ops may run asynchronously (on GPUs they are queued); {@link #download} and {@link #synchronize}
 *       wait for all queued work. Index arrays ({@code int[]}) come from the host and are copied at call time.</li>
 *   <li>Output buffers must not alias inputs unless the op says so.</li>
 * </ul>
 */
public interface Backend extends AutoCloseable {

    /** Short name, as used by {@code --device} (e.g. "cpu"). */
    String name();

    // ---- memory ---------------------------------------------------------------------------------------

    /** A root buffer of {@code size} floats from the pool; contents undefined. */
    Buffer allocate(long size);

    /** Copies {@code dst.size()} floats from {@code src[srcOffset...]} into {@code dst}. */
    void upload(float[] src, int srcOffset, Buffer dst);

    /** Copies all of {@code src} into {@code dst[dstOffset...]}; waits for queued work first. */
    void download(Buffer src, float[] dst, int dstOffset);

    /** dst = src (same size). */
    void copy(Buffer src, Buffer dst);

    /** Sets every element of {@code dst} to {@code value}. */
    void fill(Buffer dst, float value);

    /** Waits until all queued work has finished. */
    void synchronize();

    /** Allocation counters of the buffer pool (misses must stop growing once a training step is warm). */
    PoolStats poolStats();

    // ---- dense algebra ----------------------------------------------------------------------------------

    /**
     * C = alpha op(A) op(B) + beta C, row-major with packed leading dimensions: op(A) is m x k (A stored
     * [m, k], or [k, m] when {@code transA}), op(B) is k x n (B stored [k, n], or [n, k] when
     * {@code transB}), C is [m, n]. With beta = 0, C is not read (NaNs in it do not propagate).
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k,
              float alpha, Buffer a, Buffer b, float beta, Buffer c);

    /** out = alpha x + beta y, elementwise over equal sizes; {@code out} may alias x or y. */
    void add(float alpha, Buffer x, float beta, Buffer y, Buffer out);

    /** y[r, j] += bias[j] for a [rows, cols] matrix y. */
    void addBias(int rows, int cols, Buffer bias, Buffer y);

    /** dbias[j] += sum over r of dy[r, j]. */
    void biasBackward(int rows, int cols, Buffer dy, Buffer dbias);

    /** y = max(x, 0); {@code y} may alias {@code x}. */
    void relu(Buffer x, Buffer y);

    /** dx += dy where y &gt; 0 (y is the forward output). */
    void reluBackward(Buffer y, Buffer dy, Buffer dx);

    // ---- convolution and pooling ----------------------------------------------------------------------

    /** y [n, k, p, q] = conv(x [n, c, h, w], w [k, c, r, s]); no bias. */
    void conv2d(ConvShape s, Buffer x, Buffer w, Buffer y);

    /** dx += gradient of the convolution with respect to its input. */
    void conv2dBackwardData(ConvShape s, Buffer dy, Buffer w, Buffer dx);

    /** dw += gradient of the convolution with respect to its filter. */
    void conv2dBackwardFilter(ConvShape s, Buffer x, Buffer dy, Buffer dw);

    /**
     * y = max over each window; {@code argmax} [n, c, p, q] receives the index (h * w + x) of the winner
     * inside its input plane, stored as a float (exact below 2^24).
     */
    void maxPool(PoolShape s, Buffer x, Buffer y, Buffer argmax);

    /** dx[argmax] += dy. */
    void maxPoolBackward(PoolShape s, Buffer dy, Buffer argmax, Buffer dx);

    /** y [n, c] = mean of x [n, c, hw] over hw. */
    void globalAvgPool(int n, int c, int hw, Buffer x, Buffer y);

    /** dx [n, c, hw] += dy [n, c] / hw. */
    void globalAvgPoolBackward(int n, int c, int hw, Buffer dy, Buffer dx);

    // ---- normalisation ------------------------------------------------------------------------------

    /**
     * Training-mode batch norm with statistics per group (see {@link BatchNormShape}; sample i belongs to
     * group i mod groups, as in the reference MoCo SplitBatchNorm). Writes y, the per-group batch mean and
     * 1/sqrt(biased var + eps) into {@code mean} and {@code invStd} [groups, c], and updates the running
     * statistics: running = (1 - momentum) running + momentum * (average over groups of the group's mean,
     * respectively unbiased variance).
     */
    void batchNormTrain(BatchNormShape s, Buffer x, Buffer gamma, Buffer beta, Buffer y,
                        Buffer mean, Buffer invStd, Buffer runningMean, Buffer runningVar,
                        float momentum, float eps);

    /** Eval-mode batch norm: y = gamma (x - runningMean) / sqrt(runningVar + eps) + beta (groups ignored). */
    void batchNormEval(BatchNormShape s, Buffer x, Buffer gamma, Buffer beta,
                       Buffer runningMean, Buffer runningVar, float eps, Buffer y);

    /** dx, dgamma, dbeta += gradients of {@link #batchNormTrain} given its saved mean and invStd. */
    void batchNormBackward(BatchNormShape s, Buffer x, Buffer dy, Buffer gamma, Buffer mean, Buffer invStd,
                           Buffer dx, Buffer dgamma, Buffer dbeta);

    /** y = x / max(||x||, 1e-12) per row of a [rows, cols] matrix; {@code norms} [rows] receives ||x||. */
    void l2NormalizeRows(int rows, int cols, Buffer x, Buffer y, Buffer norms);

    /** dx += (dy - y (y . dy)) / max(norm, 1e-12) per row. */
    void l2NormalizeRowsBackward(int rows, int cols, Buffer y, Buffer norms, Buffer dy, Buffer dx);

    // ---- indexing -----------------------------------------------------------------------------------

    /** dst[i, :] = src[index[i], :] for i &lt; index.length; rows of {@code cols} floats. */
    void gatherRows(int cols, Buffer src, int[] index, Buffer dst);

    /**
     * dst[index[i], :] = src[i, :], or {@code +=} when {@code accumulate} (then duplicate indices add up);
     * rows not named by {@code index} are left alone.
     */
    void scatterRows(int cols, Buffer src, int[] index, Buffer dst, boolean accumulate);

    // ---- fused losses ---------------------------------------------------------------------------------

    /**
     * Mean softmax cross-entropy over the rows of {@code logits} [rows, cols] with integer {@code labels}.
     * Writes {@code stats} = [loss, acc@1, acc@5] (accuracies as fractions of rows; a row's rank is the number
     * of other classes whose logit is &gt;= its label's, so ties count against it: acc@1 counts rank 0, acc@5
     * rank &lt; 5) and
     * {@code dlogits} = gradScale * d(loss)/d(logits); {@code dlogits} may alias {@code logits}.
     */
    void softmaxCrossEntropy(int rows, int cols, Buffer logits, int[] labels, float gradScale,
                             Buffer stats, Buffer dlogits);

    /**
     * The MoCo InfoNCE loss, fused: logits_i = [q_i . k_i, q_i . queue_j for j &lt; kq] / t, positive at index 0,
     * loss = mean over i of cross-entropy. q, k are [n, c], queue is [kq, c]. Computed in one pass over the
     * queue with an online log-sum-exp (stable at t = 0.07). Writes {@code stats} = [loss, acc@1, acc@5]
     * (ranks as in {@link #softmaxCrossEntropy}: negatives &gt;= the positive count against it),
     * {@code dq} = gradScale * d(loss)/dq, and, if {@code dk} is not null, dk = gradScale * d(loss)/dk
     * (the end-to-end mechanism back-propagates into the key encoder). The queue gets no gradient.
     */
    void infoNce(int n, int c, int kq, float t, Buffer q, Buffer k, Buffer queue, float gradScale,
                 Buffer stats, Buffer dq, Buffer dk);

    // ---- MoCo state updates -----------------------------------------------------------------------

    /** target = m target + (1 - m) source over equal sizes (the momentum encoder update). */
    void ema(float m, Buffer target, Buffer source);

    /**
     * Writes the n rows of {@code keys} [n, c] into the ring buffer {@code queue} [capacity, c] at rows
     * ptr, ptr + 1, ... modulo capacity (n &lt;= capacity, 0 &lt;= ptr &lt; capacity). The caller advances
     * its pointer to (ptr + n) mod capacity.
     */
    void enqueue(Buffer queue, int capacity, int c, Buffer keys, int n, int ptr);

    /**
     * One SGD step as in PyTorch (dampening 0, no Nesterov): d = grad + weightDecay param;
     * velocity = momentum velocity + d; param -= lr velocity. All three buffers have equal sizes.
     */
    void sgd(float lr, float momentum, float weightDecay, Buffer param, Buffer grad, Buffer velocity);

    /** Releases pooled storage and device resources. Buffers of this backend are invalid afterwards. */
    @Override
    void close();
}
