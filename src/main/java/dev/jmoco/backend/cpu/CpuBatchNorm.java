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
 * <p>Statistics are never E[x^2] - E[x]^2, which cancels catastrophically in float when |mean| is large
 * against the spread. Tasks own channel ranges (channels are independent) and walk x in memory order, sample by
 * sample, so every pass streams: walking one channel's planes instead (jumps of c hw floats) measured 3x slower
 * on [64, 64, 32, 32], the hardware prefetcher restarting at every plane. By layout:
 * <ul>
 *   <li>hw &gt; 1 (planes): each plane's mean and squared deviations come from two passes over it while it is
 *       in L1, merged into per (group, channel) totals in double with the pairwise update of Chan, Golub and
 *       LeVeque; statistics cost one read of x, normalising a second;</li>
 *   <li>hw = 1 (rows of [n, c]): passes run along rows over the task's channel range, mean then squared
 *       deviations, summed in double.</li>
 * </ul>
 * Each task keeps its totals in double arrays of O(groups x channels): the only allocation per call.
 */
final class CpuBatchNorm {
    /** Elements per task below which a loop stays on the caller's thread. */
    private static final int GRAIN = 1 << 15;

    private final Parallel parallel;

    CpuBatchNorm(Parallel parallel) { this.parallel = parallel; }

    void train(BatchNormShape s, CpuBuffer x, CpuBuffer gamma, CpuBuffer beta, CpuBuffer y, CpuBuffer mean,
               CpuBuffer invStd, CpuBuffer runningMean, CpuBuffer runningVar, float momentum, float eps) {
        var io = new TrainIo(x, gamma, beta, y, mean, invStd, runningMean, runningVar);
        parallel.forRange(s.c(), channelGrain(s), (c0, c1) -> {
            if (s.hw() == 1) trainRows(s, io, c0, c1, momentum, eps);
            else trainPlanes(s, io, c0, c1, momentum, eps);
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
                if (hw == 1) { // one value per (sample, channel): no plane loop to hoist the scale out of
                    for (int ch = 0; ch < c; ch++)
                        ya[y.offset + row + ch] = (xa[x.offset + row + ch] - rm[rmo + ch])
                                * (float) (ga[go + ch] / Math.sqrt(rv[rvo + ch] + (double) eps)) + ba[bo + ch];
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
            else backwardPlanes(s, io, c0, c1);
        });
    }

    // ---- hw > 1: channels [c0, c1) together, plane by plane in memory order ----------------------------

    private static void trainPlanes(BatchNormShape s, TrainIo io, int c0, int c1, float momentum, float eps) {
        int n = s.n(), c = s.c(), hw = s.hw(), groups = s.groups(), w = c1 - c0;
        long m = (long) s.groupSize() * hw;
        float[] xa = io.x.array, ya = io.y.array, ma = io.mean.array, ia = io.invStd.array;
        int xo = io.x.offset, yo = io.y.offset;
        // Per (group, channel): mean and sum of squared deviations so far, merged plane by plane (Chan et al.).
        double[] stats = new double[2 * groups * w];
        for (int i = 0; i < n; i++) {
            int g = i % groups, merged = i / groups; // planes of group g already in stats
            for (int j = 0; j < w; j++) {
                int at = xo + (i * c + c0 + j) * hw;
                // Shifted sums about a first estimate of the mean: exact deviations, no cancellation, while
                // a float-partial sum alone can be off by ulps of the plane total (many ulps of the spread).
                float centre = (float) (CpuReductions.sum(xa, at, hw) / hw);
                double deviations = CpuReductions.deviations(xa, at, hw, centre);
                double planeMean = centre + deviations / hw;
                double planeSquares = CpuReductions.squaredDeviations(xa, at, hw, centre)
                        - deviations * deviations / hw;
                int st = 2 * (g * w + j);
                double delta = planeMean - stats[st];
                stats[st] += delta / (merged + 1);
                stats[st + 1] += planeSquares + delta * delta * hw * merged / (merged + 1);
            }
        }
        float[] rm = io.runningMean.array, rv = io.runningVar.array;
        for (int j = 0; j < w; j++) {
            double meanTotal = 0, varTotal = 0;
            for (int g = 0; g < groups; g++) {
                int st = 2 * (g * w + j);
                ma[io.mean.offset + g * c + c0 + j] = (float) stats[st];
                ia[io.invStd.offset + g * c + c0 + j] = (float) (1 / Math.sqrt(stats[st + 1] / m + eps));
                meanTotal += stats[st];
                varTotal += stats[st + 1] / (m - 1);
            }
            int rmAt = io.runningMean.offset + c0 + j, rvAt = io.runningVar.offset + c0 + j;
            rm[rmAt] = (float) ((1.0 - momentum) * rm[rmAt] + momentum * meanTotal / groups);
            rv[rvAt] = (float) ((1.0 - momentum) * rv[rvAt] + momentum * varTotal / groups);
        }
        for (int i = 0; i < n; i++) {
            int g = i % groups;
            for (int ch = c0; ch < c1; ch++) {
                int st = g * c + ch, at = (i * c + ch) * hw;
                float scale = io.gamma.array[io.gamma.offset + ch] * ia[io.invStd.offset + st];
                normalize(xa, xo + at, ya, yo + at, hw, ma[io.mean.offset + st], scale,
                        io.beta.array[io.beta.offset + ch]);
            }
        }
    }

    private static void backwardPlanes(BatchNormShape s, BackwardIo io, int c0, int c1) {
        int n = s.n(), c = s.c(), hw = s.hw(), groups = s.groups(), w = c1 - c0;
        long m = (long) s.groupSize() * hw;
        float[] xa = io.x.array, da = io.dy.array, dxa = io.dx.array, ga = io.gamma.array;
        float[] ma = io.mean.array, ia = io.invStd.array;
        int xo = io.x.offset, dyo = io.dy.offset, dxo = io.dx.offset;
        // Per (group, channel): sum(dy) and sum(dy (x - mean)); then, in place, the coefficients k and b.
        double[] sums = new double[2 * groups * w];
        for (int i = 0; i < n; i++) {
            int g = i % groups;
            for (int j = 0; j < w; j++) {
                int at = (i * c + c0 + j) * hw, st = 2 * (g * w + j);
                sums[st] += CpuReductions.sum(da, dyo + at, hw);
                sums[st + 1] += CpuReductions.dot(da, dyo + at, xa, xo + at, hw, ma[io.mean.offset + g * c + c0 + j]);
            }
        }
        for (int j = 0; j < w; j++) {
            double gam = ga[io.gamma.offset + c0 + j], dgammaTotal = 0, dbetaTotal = 0;
            for (int g = 0; g < groups; g++) {
                int st = 2 * (g * w + j);
                double inv = ia[io.invStd.offset + g * c + c0 + j], sumDy = sums[st], sumDyXhat = sums[st + 1] * inv;
                dgammaTotal += sumDyXhat;
                dbetaTotal += sumDy;
                sums[st] = -gam * inv * sumDy / m;                  // k
                sums[st + 1] = -gam * inv * inv * sumDyXhat / m;    // b
            }
            io.dgamma.array[io.dgamma.offset + c0 + j] += (float) dgammaTotal;
            io.dbeta.array[io.dbeta.offset + c0 + j] += (float) dbetaTotal;
        }
        for (int i = 0; i < n; i++) {
            int g = i % groups;
            for (int j = 0; j < w; j++) {
                int ch = c0 + j, at = (i * c + ch) * hw, st = 2 * (g * w + j);
                float mu = ma[io.mean.offset + g * c + ch];
                float a = ga[io.gamma.offset + ch] * ia[io.invStd.offset + g * c + ch];
                float k = (float) sums[st], b = (float) sums[st + 1];
                for (int e = 0; e < hw; e++)
                    dxa[dxo + at + e] += a * da[dyo + at + e] + b * (xa[xo + at + e] - mu) + k;
            }
        }
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
