package dev.jmoco.backend.cpu;

import dev.jmoco.backend.BatchNormShape;

import java.util.Arrays;

/**
 * Batch normalisation over NCHW (or NC, hw = 1) with statistics per group (see Backend#batchNormTrain).
 *
 * <p>Sample i belongs to group i mod groups, as in the reference MoCo SplitBatchNorm, which views
 * [n, c, h, w] as [n / groups, groups * c, h, w]: the new sample j holds old samples j groups .. j groups +
 * groups - 1 side by side, so old sample i lands in channel block i mod groups. Each group's statistics
 * cover m = (n / groups) hw values per channel.
 *
 * <p>Statistics are two-pass (mean, then the sum of squared deviations) with double totals, not
 * E[x^2] - E[x]^2, which cancels catastrophically in float when |mean| is large against the spread. Tasks own
 * channel ranges (channels are independent). Two layouts:
 * <ul>
 *   <li>hw &gt; 1 (planes): channel by channel, group by group, each [h, w] plane reduced as a contiguous run,
 *       so a group's planes are still in cache when the next pass over them needs its statistics;</li>
 *   <li>hw = 1 (rows of [n, c]): a channel's values are c floats apart, so each pass instead runs along rows
 *       over the task's channel range, summing into a per-task array of doubles (O(c) per call, the one
 *       allocation here; strided per-channel loops measured 10x slower at [256, 2048]).</li>
 * </ul>
 */
final class CpuBatchNorm {
    /** Elements per task below which a loop stays on the caller's thread. */
    private static final int GRAIN = 1 << 15;

    private final Parallel parallel;

    CpuBatchNorm(Parallel parallel) { this.parallel = parallel; }

    void train(BatchNormShape s, CpuBuffer x, CpuBuffer gamma, CpuBuffer beta, CpuBuffer y, CpuBuffer mean,
               CpuBuffer invStd, CpuBuffer runningMean, CpuBuffer runningVar, float momentum, float eps) {
        if ((long) s.groupSize() * s.hw() == 1) // the unbiased variance of one value is undefined; PyTorch refuses too
            throw new IllegalArgumentException("batchnorm: training needs more than one value per channel and group,"
                    + " got n = " + s.n() + ", groups = " + s.groups() + ", hw = " + s.hw());
        var io = new TrainIo(x, gamma, beta, y, mean, invStd, runningMean, runningVar);
        parallel.forRange(s.c(), channelGrain(s), (c0, c1) -> {
            if (s.hw() == 1) trainRows(s, io, c0, c1, momentum, eps);
            else for (int ch = c0; ch < c1; ch++) trainPlanes(s, io, ch, momentum, eps);
        });
    }

    /** y = gamma (x - runningMean) / sqrt(runningVar + eps) + beta; tasks own whole samples. */
    void eval(BatchNormShape s, CpuBuffer x, CpuBuffer gamma, CpuBuffer beta, CpuBuffer runningMean,
              CpuBuffer runningVar, float eps, CpuBuffer y) {
        int c = s.c(), hw = s.hw();
        float[] xa = x.array, ya = y.array, ga = gamma.array, ba = beta.array;
        float[] rm = runningMean.array, rv = runningVar.array;
        int go = gamma.offset, bo = beta.offset, rmo = runningMean.offset, rvo = runningVar.offset;
        parallel.forRange(s.n(), (int) Math.max(1, GRAIN / ((long) c * hw)), (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                int row = i * c * hw;
                if (hw == 1) { // one value per channel: compute the scale inline, in one loop C2 vectorises
                    for (int ch = 0; ch < c; ch++)
                        ya[y.offset + row + ch] = (xa[x.offset + row + ch] - rm[rmo + ch])
                                * (ga[go + ch] / (float) Math.sqrt(rv[rvo + ch] + eps)) + ba[bo + ch];
                    continue;
                }
                for (int ch = 0; ch < c; ch++) {
                    float scale = (float) (ga[go + ch] / Math.sqrt(rv[rvo + ch] + (double) eps));
                    int at = row + ch * hw;
                    normalize(xa, x.offset + at, ya, y.offset + at, hw, rm[rmo + ch], scale, ba[bo + ch]);
                }
            }
        });
    }

    /**
     * Per group g and channel, with xhat = (x - mean) invStd and sums over the group's m values:
     * dx += gamma invStd / m (m dy - sum(dy) - xhat sum(dy xhat)); dgamma += sum over groups of sum(dy xhat);
     * dbeta += sum over groups of sum(dy). In the loops, dx += a dy + b (x - mean) + k with a = gamma invStd,
     * b = -gamma invStd^2 sum(dy xhat) / m and k = -gamma invStd sum(dy) / m.
     */
    void backward(BatchNormShape s, CpuBuffer x, CpuBuffer dy, CpuBuffer gamma, CpuBuffer mean, CpuBuffer invStd,
                  CpuBuffer dx, CpuBuffer dgamma, CpuBuffer dbeta) {
        var io = new BackwardIo(x, dy, gamma, mean, invStd, dx, dgamma, dbeta);
        parallel.forRange(s.c(), channelGrain(s), (c0, c1) -> {
            if (s.hw() == 1) backwardRows(s, io, c0, c1);
            else for (int ch = c0; ch < c1; ch++) backwardPlanes(s, io, ch);
        });
    }

    // ---- hw > 1: one channel at a time, planes as contiguous runs ----------------------------------------

    private static void trainPlanes(BatchNormShape s, TrainIo io, int ch, float momentum, float eps) {
        int n = s.n(), c = s.c(), hw = s.hw(), groups = s.groups();
        long m = (long) s.groupSize() * hw;
        float[] xa = io.x.array, ya = io.y.array;
        int xo = io.x.offset, yo = io.y.offset;
        double meanTotal = 0, varTotal = 0;
        for (int g = 0; g < groups; g++) {
            double sum = 0;
            for (int i = g; i < n; i += groups) sum += CpuReductions.sum(xa, xo + (i * c + ch) * hw, hw);
            double groupMean = sum / m;
            float mu = (float) groupMean;
            double squares = 0;
            for (int i = g; i < n; i += groups)
                squares += CpuReductions.squaredDeviations(xa, xo + (i * c + ch) * hw, hw, mu);
            float inv = (float) (1 / Math.sqrt(squares / m + eps));
            io.mean.array[io.mean.offset + g * c + ch] = mu;
            io.invStd.array[io.invStd.offset + g * c + ch] = inv;
            meanTotal += groupMean;
            varTotal += squares / (m - 1);
            float scale = io.gamma.array[io.gamma.offset + ch] * inv, shift = io.beta.array[io.beta.offset + ch];
            for (int i = g; i < n; i += groups) {
                int at = (i * c + ch) * hw;
                normalize(xa, xo + at, ya, yo + at, hw, mu, scale, shift);
            }
        }
        float[] rm = io.runningMean.array, rv = io.runningVar.array;
        int rmAt = io.runningMean.offset + ch, rvAt = io.runningVar.offset + ch;
        rm[rmAt] = (float) ((1.0 - momentum) * rm[rmAt] + momentum * meanTotal / groups);
        rv[rvAt] = (float) ((1.0 - momentum) * rv[rvAt] + momentum * varTotal / groups);
    }

    private static void backwardPlanes(BatchNormShape s, BackwardIo io, int ch) {
        int n = s.n(), c = s.c(), hw = s.hw(), groups = s.groups();
        long m = (long) s.groupSize() * hw;
        float[] xa = io.x.array, da = io.dy.array, dxa = io.dx.array;
        int xo = io.x.offset, dyo = io.dy.offset, dxo = io.dx.offset;
        float gam = io.gamma.array[io.gamma.offset + ch];
        double dgammaTotal = 0, dbetaTotal = 0;
        for (int g = 0; g < groups; g++) {
            float mu = io.mean.array[io.mean.offset + g * c + ch], inv = io.invStd.array[io.invStd.offset + g * c + ch];
            double sumDy = 0, sumDyCentered = 0;
            for (int i = g; i < n; i += groups) {
                int at = (i * c + ch) * hw;
                sumDy += CpuReductions.sum(da, dyo + at, hw);
                sumDyCentered += CpuReductions.dot(da, dyo + at, xa, xo + at, hw, mu);
            }
            double sumDyXhat = sumDyCentered * inv;
            dgammaTotal += sumDyXhat;
            dbetaTotal += sumDy;
            float a = gam * inv;
            float b = (float) (-(double) gam * inv * inv * sumDyXhat / m);
            float k = (float) (-(double) gam * inv * sumDy / m);
            for (int i = g; i < n; i += groups) {
                int at = (i * c + ch) * hw;
                for (int e = 0; e < hw; e++)
                    dxa[dxo + at + e] += a * da[dyo + at + e] + b * (xa[xo + at + e] - mu) + k;
            }
        }
        io.dgamma.array[io.dgamma.offset + ch] += (float) dgammaTotal;
        io.dbeta.array[io.dbeta.offset + ch] += (float) dbetaTotal;
    }

    // ---- hw = 1: channels [c0, c1) together, along rows -------------------------------------------------

    private static void trainRows(BatchNormShape s, TrainIo io, int c0, int c1, float momentum, float eps) {
        int n = s.n(), c = s.c(), groups = s.groups(), m = s.groupSize(), w = c1 - c0;
        float[] xa = io.x.array, ya = io.y.array, ga = io.gamma.array, ba = io.beta.array;
        float[] ma = io.mean.array, ia = io.invStd.array, rm = io.runningMean.array, rv = io.runningVar.array;
        int xo = io.x.offset + c0, yo = io.y.offset + c0, go = io.gamma.offset + c0, bo = io.beta.offset + c0;
        int rmo = io.runningMean.offset + c0, rvo = io.runningVar.offset + c0;
        double[] sums = new double[w];
        // running = (1 - momentum) running + momentum * (average over groups), added group by group below
        for (int j = 0; j < w; j++) {
            rm[rmo + j] *= 1 - momentum;
            rv[rvo + j] *= 1 - momentum;
        }
        for (int g = 0; g < groups; g++) {
            int mo = io.mean.offset + g * c + c0, iso = io.invStd.offset + g * c + c0;
            Arrays.fill(sums, 0);
            for (int i = g; i < n; i += groups)
                for (int j = 0; j < w; j++) sums[j] += xa[xo + i * c + j];
            for (int j = 0; j < w; j++) {
                ma[mo + j] = (float) (sums[j] / m);
                rm[rmo + j] += (float) (momentum * (sums[j] / m) / groups);
            }
            Arrays.fill(sums, 0);
            for (int i = g; i < n; i += groups)
                for (int j = 0; j < w; j++) {
                    float d = xa[xo + i * c + j] - ma[mo + j];
                    sums[j] += d * d;
                }
            for (int j = 0; j < w; j++) {
                ia[iso + j] = (float) (1 / Math.sqrt(sums[j] / m + eps));
                rv[rvo + j] += (float) (momentum * (sums[j] / (m - 1)) / groups);
            }
            for (int i = g; i < n; i += groups)
                for (int j = 0; j < w; j++)
                    ya[yo + i * c + j] = (xa[xo + i * c + j] - ma[mo + j]) * (ga[go + j] * ia[iso + j]) + ba[bo + j];
        }
    }

    private static void backwardRows(BatchNormShape s, BackwardIo io, int c0, int c1) {
        int n = s.n(), c = s.c(), groups = s.groups(), m = s.groupSize(), w = c1 - c0;
        float[] xa = io.x.array, da = io.dy.array, dxa = io.dx.array, ga = io.gamma.array;
        float[] ma = io.mean.array, ia = io.invStd.array, dga = io.dgamma.array, dba = io.dbeta.array;
        int xo = io.x.offset + c0, dyo = io.dy.offset + c0, dxo = io.dx.offset + c0, go = io.gamma.offset + c0;
        int dgo = io.dgamma.offset + c0, dbo = io.dbeta.offset + c0;
        // sum(dy) and sum(dy (x - mean)) per channel; then, in place, the coefficients k and b of the dx loop
        double[] sumDy = new double[w], sumDyCentered = new double[w];
        for (int g = 0; g < groups; g++) {
            int mo = io.mean.offset + g * c + c0, iso = io.invStd.offset + g * c + c0;
            Arrays.fill(sumDy, 0);
            Arrays.fill(sumDyCentered, 0);
            for (int i = g; i < n; i += groups)
                for (int j = 0; j < w; j++) {
                    float d = da[dyo + i * c + j];
                    sumDy[j] += d;
                    sumDyCentered[j] += d * (xa[xo + i * c + j] - ma[mo + j]);
                }
            for (int j = 0; j < w; j++) {
                double inv = ia[iso + j], gam = ga[go + j], sumDyXhat = sumDyCentered[j] * inv;
                dga[dgo + j] += (float) sumDyXhat;
                dba[dbo + j] += (float) sumDy[j];
                sumDyCentered[j] = -gam * inv * inv * sumDyXhat / m; // b
                sumDy[j] = -gam * inv * sumDy[j] / m;                // k
            }
            for (int i = g; i < n; i += groups)
                for (int j = 0; j < w; j++) {
                    int at = i * c + j;
                    dxa[dxo + at] += (float) (ga[go + j] * ia[iso + j] * da[dyo + at]
                            + sumDyCentered[j] * (xa[xo + at] - ma[mo + j]) + sumDy[j]);
                }
        }
    }

    /**
     * y[yFrom + e] = (x[xFrom + e] - mean) scale + shift for e &lt; len. Subtracting the mean first (rather
     * than x scale + (shift - mean scale), as PyTorch does) keeps full precision when |mean| is large.
     */
    private static void normalize(float[] x, int xFrom, float[] y, int yFrom, int len, float mean, float scale,
                                  float shift) {
        for (int e = 0; e < len; e++) y[yFrom + e] = (x[xFrom + e] - mean) * scale + shift;
    }

    /** Channels per task so that a task touches at least GRAIN elements. */
    private static int channelGrain(BatchNormShape s) {
        return (int) Math.max(1, GRAIN / ((long) s.n() * s.hw()));
    }

    /** The buffers of one training call, so the per-layout helpers take one argument instead of eight. */
    private record TrainIo(CpuBuffer x, CpuBuffer gamma, CpuBuffer beta, CpuBuffer y, CpuBuffer mean,
                           CpuBuffer invStd, CpuBuffer runningMean, CpuBuffer runningVar) {}

    /** The buffers of one backward call. */
    private record BackwardIo(CpuBuffer x, CpuBuffer dy, CpuBuffer gamma, CpuBuffer mean, CpuBuffer invStd,
                              CpuBuffer dx, CpuBuffer dgamma, CpuBuffer dbeta) {}
}
