package dev.jmoco.backend.reference;

import dev.jmoco.backend.BatchNormShape;
import dev.jmoco.backend.ConvShape;
import dev.jmoco.backend.PoolShape;

import java.util.Arrays;

/**
 * The op set of {@link dev.jmoco.backend.Backend} as plain scalar loops in double precision, one method per
 * op, written to be read as its specification and used as the oracle of the kernel tests, the conformance
 * suite and the benchmarks' set-up checks. Nothing here is fast or parallel, and nothing checks arguments:
 * it is never on a training path.
 *
 * <p>Inputs are the float arrays a backend would hold; outputs are double arrays, so that a test compares a
 * float result against the exact-as-possible answer. The op contract holds here too: forward ops
 * <em>overwrite</em> their outputs, backward ops <em>add</em> into their gradients (pass a copy of the
 * gradient's prior contents, see {@link #widen}), the fused losses <em>write</em> theirs. Layouts are dense and
 * row-major (NCHW for images). An op with one output returns it, so that a call reads as the value it
 * computes.
 */
public final class ReferenceOps {
    private ReferenceOps() {}

    /** {@code v} as doubles: the prior contents of an output that an op reads or adds into. */
    public static double[] widen(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    /** {@code v} rounded to float, as a backend stores an output (to feed the next op of a chain). */
    public static float[] narrow(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return f;
    }

    // ---- dense algebra ------------------------------------------------------------------------------------

    /**
     * c = alpha op(a) op(b) + beta c, op(a) m x k (a stored [m, k], or [k, m] when transA), op(b) k x n
     * (b stored [k, n], or [n, k] when transB). With beta = 0, c is not read (NaN in it does not propagate).
     */
    public static double[] gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, float[] a,
                                float[] b, double beta, double[] c) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++)
                    sum += (double) (transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]);
                c[i * n + j] = beta == 0 ? alpha * sum : alpha * sum + beta * c[i * n + j];
            }
        return c;
    }

    /** out = alpha x + beta y. */
    public static double[] add(double alpha, float[] x, double beta, float[] y, double[] out) {
        for (int i = 0; i < x.length; i++) out[i] = alpha * x[i] + beta * y[i];
        return out;
    }

    /** y[r, j] += bias[j] over a [rows, cols] matrix. */
    public static double[] addBias(int rows, int cols, float[] bias, double[] y) {
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < cols; j++) y[r * cols + j] += bias[j];
        return y;
    }

    /** dbias[j] += sum over r of dy[r, j]. */
    public static double[] biasBackward(int rows, int cols, float[] dy, double[] dbias) {
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < cols; j++) dbias[j] += dy[r * cols + j];
        return dbias;
    }

    /** y = max(x, 0). */
    public static double[] relu(float[] x, double[] y) {
        for (int i = 0; i < x.length; i++) y[i] = Math.max(x[i], 0);
        return y;
    }

    /** dx += dy where y &gt; 0 (y is relu's output). */
    public static double[] reluBackward(float[] y, float[] dy, double[] dx) {
        for (int i = 0; i < y.length; i++) if (y[i] > 0) dx[i] += dy[i];
        return dx;
    }

    // ---- convolution and pooling --------------------------------------------------------------------------

    // The three passes walk one loop nest: every (image, output channel, input channel, filter tap) and the
    // output pixels it reaches, pixels innermost so that the conformance suite's large shapes stay quick.

    /** y [n, k, p, q] = sum over c, r, s of x [n, c, h, w] (zero padded) times w [k, c, r, s]. */
    public static double[] conv2d(ConvShape s, float[] x, float[] w, double[] y) {
        Arrays.fill(y, 0);
        for (int i = 0; i < s.n(); i++)
            for (int k = 0; k < s.k(); k++)
                for (int c = 0; c < s.c(); c++)
                    for (int r = 0; r < s.r(); r++)
                        for (int t = 0; t < s.s(); t++)
                            for (int oh = 0; oh < s.p(); oh++)
                                for (int ow = 0; ow < s.q(); ow++) {
                                    int ih = oh * s.stride() - s.pad() + r, iw = ow * s.stride() - s.pad() + t;
                                    if (ih >= 0 && ih < s.h() && iw >= 0 && iw < s.w())
                                        y[yAt(s, i, k, oh, ow)] += (double) x[xAt(s, i, c, ih, iw)]
                                                * w[wAt(s, k, c, r, t)];
                                }
        return y;
    }

    /** dx += the gradient of conv2d with respect to x: each output's dy flows back through its taps. */
    public static double[] conv2dBackwardData(ConvShape s, float[] dy, float[] w, double[] dx) {
        for (int i = 0; i < s.n(); i++)
            for (int k = 0; k < s.k(); k++)
                for (int c = 0; c < s.c(); c++)
                    for (int r = 0; r < s.r(); r++)
                        for (int t = 0; t < s.s(); t++)
                            for (int oh = 0; oh < s.p(); oh++)
                                for (int ow = 0; ow < s.q(); ow++) {
                                    int ih = oh * s.stride() - s.pad() + r, iw = ow * s.stride() - s.pad() + t;
                                    if (ih >= 0 && ih < s.h() && iw >= 0 && iw < s.w())
                                        dx[xAt(s, i, c, ih, iw)] += (double) dy[yAt(s, i, k, oh, ow)]
                                                * w[wAt(s, k, c, r, t)];
                                }
        return dx;
    }

    /** dw += the gradient of conv2d with respect to w: dy times the input each tap saw. */
    public static double[] conv2dBackwardFilter(ConvShape s, float[] x, float[] dy, double[] dw) {
        for (int i = 0; i < s.n(); i++)
            for (int k = 0; k < s.k(); k++)
                for (int c = 0; c < s.c(); c++)
                    for (int r = 0; r < s.r(); r++)
                        for (int t = 0; t < s.s(); t++)
                            for (int oh = 0; oh < s.p(); oh++)
                                for (int ow = 0; ow < s.q(); ow++) {
                                    int ih = oh * s.stride() - s.pad() + r, iw = ow * s.stride() - s.pad() + t;
                                    if (ih >= 0 && ih < s.h() && iw >= 0 && iw < s.w())
                                        dw[wAt(s, k, c, r, t)] += (double) dy[yAt(s, i, k, oh, ow)]
                                                * x[xAt(s, i, c, ih, iw)];
                                }
        return dw;
    }

    /** Offsets into x [n, c, h, w], w [k, c, r, s] and y [n, k, p, q]. */
    private static int xAt(ConvShape s, int i, int c, int h, int w) {
        return ((i * s.c() + c) * s.h() + h) * s.w() + w;
    }

    private static int wAt(ConvShape s, int k, int c, int r, int t) {
        return ((k * s.c() + c) * s.r() + r) * s.s() + t;
    }

    private static int yAt(ConvShape s, int i, int k, int p, int q) {
        return ((i * s.k() + k) * s.p() + p) * s.q() + q;
    }

    /**
     * y = the maximum of each window, as PyTorch takes it: scanning the window in row-major order, a value
     * replaces the best so far if it is greater or NaN, so the first maximum wins ties (-0 and +0 tie), every
     * NaN takes over (the last one wins), and a window of -infinity reports its first cell; padded cells are
     * skipped. argmax = the winner's index (h * w + x) in its input plane.
     */
    public static void maxPool(PoolShape s, float[] x, double[] y, double[] argmax) {
        int p = s.p(), q = s.q();
        for (int plane = 0; plane < s.n() * s.c(); plane++)
            for (int oh = 0; oh < p; oh++)
                for (int ow = 0; ow < q; ow++) {
                    double best = Double.NEGATIVE_INFINITY;
                    int bestAt = -1;
                    for (int r = 0; r < s.window(); r++)
                        for (int t = 0; t < s.window(); t++) {
                            int ih = oh * s.stride() - s.pad() + r, iw = ow * s.stride() - s.pad() + t;
                            if (ih < 0 || ih >= s.h() || iw < 0 || iw >= s.w()) continue;
                            float v = x[(plane * s.h() + ih) * s.w() + iw];
                            if (bestAt < 0 || v > best || Float.isNaN(v)) {
                                best = v;
                                bestAt = ih * s.w() + iw;
                            }
                        }
                    y[(plane * p + oh) * q + ow] = best;
                    argmax[(plane * p + oh) * q + ow] = bestAt;
                }
    }

    /** dx[plane, argmax] += dy for every output of maxPool. */
    public static double[] maxPoolBackward(PoolShape s, float[] dy, float[] argmax, double[] dx) {
        int pq = s.p() * s.q(), hw = s.h() * s.w();
        for (int o = 0; o < dy.length; o++) dx[o / pq * hw + (int) argmax[o]] += dy[o];
        return dx;
    }

    /** y [n, c] = the mean of x [n, c, hw] over hw. */
    public static double[] globalAvgPool(int n, int c, int hw, float[] x, double[] y) {
        for (int plane = 0; plane < n * c; plane++) {
            double sum = 0;
            for (int e = 0; e < hw; e++) sum += x[plane * hw + e];
            y[plane] = sum / hw;
        }
        return y;
    }

    /** dx [n, c, hw] += dy [n, c] / hw. */
    public static double[] globalAvgPoolBackward(int n, int c, int hw, float[] dy, double[] dx) {
        for (int plane = 0; plane < n * c; plane++)
            for (int e = 0; e < hw; e++) dx[plane * hw + e] += (double) dy[plane] / hw;
        return dx;
    }

    // ---- normalisation ------------------------------------------------------------------------------------

    /** Index of element e of channel ch of sample i in [n, c, hw]. */
    private static int at(BatchNormShape s, int i, int ch, int e) { return (i * s.c() + ch) * s.hw() + e; }

    /**
     * Training-mode batch norm with statistics per group (sample i in group i mod groups): per group and
     * channel, mean mu and biased variance v over the group's samples and positions; y = gamma (x - mu) /
     * sqrt(v + eps) + beta; mean and invStd [groups, c] receive mu and 1 / sqrt(v + eps). The running
     * statistics are, as in MoCo's SplitBatchNorm, each group's update of them averaged over the groups:
     * running = (1 - momentum) running + momentum (mean over groups of mu, resp. of the unbiased variance).
     */
    public static void batchNormTrain(BatchNormShape s, float[] x, float[] gamma, float[] beta, double[] y,
                                      double[] mean, double[] invStd, double[] runningMean, double[] runningVar,
                                      double momentum, double eps) {
        int c = s.c(), groups = s.groups(), count = s.groupSize() * s.hw();
        for (int ch = 0; ch < c; ch++) {
            double meanOfMeans = 0, meanOfVars = 0;
            for (int g = 0; g < groups; g++) {
                double mu = 0, squares = 0;
                for (int i = g; i < s.n(); i += groups)
                    for (int e = 0; e < s.hw(); e++) mu += x[at(s, i, ch, e)];
                mu /= count;
                for (int i = g; i < s.n(); i += groups)
                    for (int e = 0; e < s.hw(); e++) squares += (x[at(s, i, ch, e)] - mu) * (x[at(s, i, ch, e)] - mu);
                double inv = 1 / Math.sqrt(squares / count + eps);
                mean[g * c + ch] = mu;
                invStd[g * c + ch] = inv;
                meanOfMeans += mu / groups;
                meanOfVars += squares / (count - 1) / groups;
                for (int i = g; i < s.n(); i += groups)
                    for (int e = 0; e < s.hw(); e++)
                        y[at(s, i, ch, e)] = gamma[ch] * (x[at(s, i, ch, e)] - mu) * inv + beta[ch];
            }
            runningMean[ch] = (1 - momentum) * runningMean[ch] + momentum * meanOfMeans;
            runningVar[ch] = (1 - momentum) * runningVar[ch] + momentum * meanOfVars;
        }
    }

    /** Eval-mode batch norm: y = gamma (x - runningMean) / sqrt(runningVar + eps) + beta. */
    public static double[] batchNormEval(BatchNormShape s, float[] x, float[] gamma, float[] beta, float[] runningMean,
                                         float[] runningVar, double eps, double[] y) {
        for (int i = 0; i < s.n(); i++)
            for (int ch = 0; ch < s.c(); ch++)
                for (int e = 0; e < s.hw(); e++)
                    y[at(s, i, ch, e)] = gamma[ch] * (x[at(s, i, ch, e)] - (double) runningMean[ch])
                            / Math.sqrt(runningVar[ch] + eps) + beta[ch];
        return y;
    }

    /**
     * Gradients of batchNormTrain from its saved mean and invStd: per group and channel, with xhat = (x - mu)
     * invStd over the group's m values, dbeta += sum dy, dgamma += sum dy xhat, and
     * dx += gamma invStd (dy - sum(dy) / m - xhat sum(dy xhat) / m).
     */
    public static void batchNormBackward(BatchNormShape s, float[] x, float[] dy, float[] gamma, float[] mean,
                                         float[] invStd, double[] dx, double[] dgamma, double[] dbeta) {
        int c = s.c(), groups = s.groups(), count = s.groupSize() * s.hw();
        for (int ch = 0; ch < c; ch++)
            for (int g = 0; g < groups; g++) {
                double mu = mean[g * c + ch], inv = invStd[g * c + ch], sumDy = 0, sumDyXhat = 0;
                for (int i = g; i < s.n(); i += groups)
                    for (int e = 0; e < s.hw(); e++) {
                        sumDy += dy[at(s, i, ch, e)];
                        sumDyXhat += dy[at(s, i, ch, e)] * (x[at(s, i, ch, e)] - mu) * inv;
                    }
                dbeta[ch] += sumDy;
                dgamma[ch] += sumDyXhat;
                for (int i = g; i < s.n(); i += groups)
                    for (int e = 0; e < s.hw(); e++) {
                        double xhat = (x[at(s, i, ch, e)] - mu) * inv;
                        dx[at(s, i, ch, e)] += gamma[ch] * inv * (dy[at(s, i, ch, e)] - sumDy / count
                                - xhat * sumDyXhat / count);
                    }
            }
    }

    /** y = x / max(||x||, 1e-12) per row of a [rows, cols] matrix; norms [rows] = ||x||. */
    public static void l2NormalizeRows(int rows, int cols, float[] x, double[] y, double[] norms) {
        for (int r = 0; r < rows; r++) {
            double squares = 0;
            for (int j = 0; j < cols; j++) squares += (double) x[r * cols + j] * x[r * cols + j];
            norms[r] = Math.sqrt(squares);
            for (int j = 0; j < cols; j++) y[r * cols + j] = x[r * cols + j] / Math.max(norms[r], 1e-12);
        }
    }

    /** dx += (dy - y (y . dy)) / max(norm, 1e-12) per row, from the forward output y and its norms. */
    public static double[] l2NormalizeRowsBackward(int rows, int cols, float[] y, float[] norms, float[] dy,
                                                   double[] dx) {
        for (int r = 0; r < rows; r++) {
            double dot = 0;
            for (int j = 0; j < cols; j++) dot += (double) y[r * cols + j] * dy[r * cols + j];
            for (int j = 0; j < cols; j++)
                dx[r * cols + j] += (dy[r * cols + j] - y[r * cols + j] * dot) / Math.max(norms[r], 1e-12);
        }
        return dx;
    }

    // ---- indexing -----------------------------------------------------------------------------------------

    /** dst[i, :] = src[index[i], :], rows of {@code cols}. */
    public static double[] gatherRows(int cols, float[] src, int[] index, double[] dst) {
        for (int i = 0; i < index.length; i++)
            for (int j = 0; j < cols; j++) dst[i * cols + j] = src[index[i] * cols + j];
        return dst;
    }

    /** dst[index[i], :] = src[i, :], or += when accumulating (duplicates add up); other rows stay. */
    public static double[] scatterRows(int cols, float[] src, int[] index, double[] dst, boolean accumulate) {
        for (int i = 0; i < index.length; i++)
            for (int j = 0; j < cols; j++)
                dst[index[i] * cols + j] = (accumulate ? dst[index[i] * cols + j] : 0) + src[i * cols + j];
        return dst;
    }

    // ---- fused losses -------------------------------------------------------------------------------------

    /**
     * Cross-entropy of one row of logits (its {@code cols} values from {@code at}) against class {@code label}:
     * adds scale (softmax - onehot) into d (from {@code dAt}) and returns {loss, rank}, where rank counts the
     * other classes whose logit is &gt;= the label's (ties count against the row).
     */
    private static double[] crossEntropyRow(double[] logits, int label, double scale, double[] d, int dAt) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (double v : logits) max = Math.max(max, v);
        for (double v : logits) sum += Math.exp(v - max);
        int rank = 0;
        for (int j = 0; j < logits.length; j++) {
            if (j != label && logits[j] >= logits[label]) rank++;
            d[dAt + j] = scale * (Math.exp(logits[j] - max) / sum - (j == label ? 1 : 0));
        }
        return new double[] {Math.log(sum) + max - logits[label], rank};
    }

    /** stats = [mean loss, acc@1 (rank 0), acc@5 (rank &lt; 5)] from per-row {loss, rank} pairs. */
    private static void writeStats(double[][] perRow, double[] stats) {
        double loss = 0, top1 = 0, top5 = 0;
        for (double[] row : perRow) {
            loss += row[0];
            if (row[1] < 1) top1++;
            if (row[1] < 5) top5++;
        }
        stats[0] = loss / perRow.length;
        stats[1] = top1 / perRow.length;
        stats[2] = top5 / perRow.length;
    }

    /**
     * Mean softmax cross-entropy of logits [rows, cols] against labels: stats = [loss, acc@1, acc@5] and
     * dlogits = gradScale d(loss)/d(logits).
     */
    public static void softmaxCrossEntropy(int rows, int cols, float[] logits, int[] labels, double gradScale,
                                           double[] stats, double[] dlogits) {
        double[][] perRow = new double[rows][];
        for (int r = 0; r < rows; r++) {
            double[] row = new double[cols];
            for (int j = 0; j < cols; j++) row[j] = logits[r * cols + j];
            perRow[r] = crossEntropyRow(row, labels[r], gradScale / rows, dlogits, r * cols);
        }
        writeStats(perRow, stats);
    }

    /** a[ai, :] . b[bi, :] over rows of c. */
    private static double dot(float[] a, int ai, float[] b, int bi, int c) {
        double sum = 0;
        for (int j = 0; j < c; j++) sum += (double) a[ai * c + j] * b[bi * c + j];
        return sum;
    }

    /**
     * MoCo's InfoNCE straight from its definition: per row i, logits = [q_i . k_i, q_i . queue_j for j &lt; kq]
     * / t with the positive at 0; the loss is the mean cross-entropy against class 0, stats = [loss, acc@1,
     * acc@5]; dq = gradScale d(loss)/dq, and dk (unless null) = gradScale d(loss)/dk. The queue gets none.
     */
    public static void infoNce(int n, int c, int kq, double t, float[] q, float[] k, float[] queue,
                               double gradScale, double[] stats, double[] dq, double[] dk) {
        double[][] perRow = new double[n][];
        double[] dlogits = new double[kq + 1];
        for (int i = 0; i < n; i++) {
            double[] logits = new double[kq + 1];
            logits[0] = dot(q, i, k, i, c) / t;
            for (int j = 0; j < kq; j++) logits[j + 1] = dot(q, i, queue, j, c) / t;
            perRow[i] = crossEntropyRow(logits, 0, gradScale / n, dlogits, 0);
            // The chain rule through logits = q . key / t.
            for (int e = 0; e < c; e++) {
                double g = dlogits[0] * k[i * c + e];
                for (int j = 0; j < kq; j++) g += dlogits[j + 1] * queue[j * c + e];
                dq[i * c + e] = g / t;
                if (dk != null) dk[i * c + e] = dlogits[0] * q[i * c + e] / t;
            }
        }
        writeStats(perRow, stats);
    }

    // ---- MoCo state updates -------------------------------------------------------------------------------

    /** target = m target + (1 - m) source (the momentum encoder). */
    public static double[] ema(double m, double[] target, float[] source) {
        for (int i = 0; i < target.length; i++) target[i] = m * target[i] + (1 - m) * source[i];
        return target;
    }

    /** queue[(ptr + i) mod capacity, :] = keys[i, :] for the n rows of keys [n, c]. */
    public static void enqueue(double[] queue, int capacity, int c, float[] keys, int n, int ptr) {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c; j++) queue[(ptr + i) % capacity * c + j] = keys[i * c + j];
    }

    /**
     * One SGD step as PyTorch's (dampening 0, no Nesterov): d = grad + weightDecay param;
     * velocity = momentum velocity + d; param -= lr velocity.
     */
    public static void sgd(double lr, double momentum, double weightDecay, double[] param, float[] grad,
                           double[] velocity) {
        for (int i = 0; i < param.length; i++) {
            velocity[i] = momentum * velocity[i] + grad[i] + weightDecay * param[i];
            param[i] -= lr * velocity[i];
        }
    }
}
