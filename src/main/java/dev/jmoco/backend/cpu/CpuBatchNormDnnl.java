package dev.jmoco.backend.cpu;

import dev.jmoco.backend.BatchNormShape;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Batch normalisation in training mode, forward and backward, on oneDNN, for an input that is already off-heap
 * in a oneDNN layout (a convolution's output, see {@link CpuDnnlTensors}); any other input runs on
 * {@link CpuBatchNorm}, which is also the reference this is tested against. The output keeps the input's
 * layout, so that the ReLU and convolution after it read it as it is.
 * <p>
 * Statistics per group (shuffle-BN's emulation, see {@link BatchNormShape}) cost nothing extra: sample i in
 * group i mod G is MoCo's view of [n, c, h, w] as [n / G, G c, h, w], and in nChw8c (or nChw16c, or plain)
 * that view is the same bytes when c is a multiple of the block, so one primitive over the view normalises
 * every group, channel g c + ch holding group g's channel ch: the order of jmoco's saved statistics. Channels
 * off the block size with G &gt; 1 run in Java.
 * <p>
 * oneDNN returns the biased variance; the running variance takes the unbiased one (m / (m - 1) times it, m the
 * values per group and channel), averaged over groups, exactly as {@link CpuBatchNorm} does; the saved
 * inverse std is 1 / sqrt(var + eps), and backward gives oneDNN back var = 1 / invStd^2 - eps (see
 * {@link #BACKWARD_EPS}).
 */
final class CpuBatchNormDnnl implements AutoCloseable {
    private record Key(CpuDnnlLayout view, float eps) {
        @Override public String toString() { return "for " + view + ", eps " + eps; }
    }

    /**
     * The epsilon of the backward primitives. Backward gets no epsilon (it has the saved inverse std), and
     * needs none: oneDNN only uses var + eps, and is given var = 1 / invStd^2 - eps, so any one value, used in
     * both places, gives back the forward pass's invStd.
     */
    private static final float BACKWARD_EPS = 1e-5f;

    private final CpuDnnlTensors tensors;
    private final CpuDnnl dnnl;
    private final CpuDnnlPlans<Key, Plan> plans = new CpuDnnlPlans<>("batch norm", k -> new Plan(k.view(), k.eps()));
    private final Arena arena = Arena.ofShared();

    CpuBatchNormDnnl(CpuDnnlTensors tensors) {
        this.tensors = tensors;
        this.dnnl = tensors.dnnl;
    }

    /** See Backend#batchNormTrain; false (nothing written) unless x is off-heap in a layout this can view. */
    boolean train(BatchNormShape s, CpuBuffer x, CpuBuffer gamma, CpuBuffer beta, CpuBuffer y, CpuBuffer mean,
                  CpuBuffer invStd, CpuBuffer runningMean, CpuBuffer runningVar, float momentum, float eps) {
        synchronized (tensors) {
            CpuBuffer.Resident r = x.isRoot() ? x.resident() : null;
            Plan p = r == null ? null : plan(s, r.layout(), eps);
            if (p == null) return false;
            try {
                int gc = s.statsSize();
                MemorySegment meanSeg = tensors.temporary(4L * gc), varSeg = tensors.temporary(4L * gc);
                MemorySegment scale = tiled(s, gamma), shift = tiled(s, beta);
                CpuDnnlTensors.Output out = tensors.output(y, r.layout(), false);
                tensors.bind(p.forwardMemories[0], r.data());
                tensors.bind(p.forwardMemories[1], out.data());
                tensors.bind(p.forwardMemories[2], meanSeg);
                tensors.bind(p.forwardMemories[3], varSeg);
                tensors.bind(p.forwardMemories[4], scale);
                tensors.bind(p.forwardMemories[5], shift);
                tensors.execute("batch normalization forward", p.forward, p.forwardArgs, 6);
                tensors.finish(out);
                saveStatistics(s, meanSeg, varSeg, mean, invStd, runningMean, runningVar, momentum, eps);
            } finally {
                tensors.endCall();
            }
            return true;
        }
    }

    /** See Backend#batchNormBackward; false (nothing written) unless x is off-heap in a layout this can view. */
    boolean backward(BatchNormShape s, CpuBuffer x, CpuBuffer dy, CpuBuffer gamma, CpuBuffer mean, CpuBuffer invStd,
                     CpuBuffer dx, CpuBuffer dgamma, CpuBuffer dbeta) {
        synchronized (tensors) {
            CpuBuffer.Resident r = x.isRoot() ? x.resident() : null;
            float eps = BACKWARD_EPS;
            Plan p = r == null ? null : plan(s, r.layout(), eps);
            if (p == null) return false;
            try {
                int gc = s.statsSize();
                MemorySegment meanSeg = tensors.temporary(4L * gc), varSeg = tensors.temporary(4L * gc);
                mean.forRead();
                invStd.forRead();
                for (int i = 0; i < gc; i++) {
                    meanSeg.setAtIndex(JAVA_FLOAT, i, mean.array[mean.offset + i]);
                    double is = invStd.array[invStd.offset + i];
                    varSeg.setAtIndex(JAVA_FLOAT, i, (float) (1 / (is * is) - eps));
                }
                MemorySegment scale = tiled(s, gamma), shift = tensors.temporary(4L * gc).fill((byte) 0);
                MemorySegment diffScale = tensors.temporary(4L * gc), diffShift = tensors.temporary(4L * gc);
                MemorySegment diffDst = tensors.input(dy, r.layout());
                CpuDnnlTensors.Output out = tensors.output(dx, r.layout(), true);
                MemorySegment[] m = p.backwardMemories;
                MemorySegment[] data = {r.data(), diffDst, meanSeg, varSeg, scale, shift, out.data(), diffScale,
                        diffShift};
                for (int i = 0; i < m.length; i++) tensors.bind(m[i], data[i]);
                tensors.execute("batch normalization backward", p.backward, p.backwardArgs, m.length);
                tensors.finish(out);
                addOverGroups(s, diffScale, dgamma);
                addOverGroups(s, diffShift, dbeta);
            } finally {
                tensors.endCall();
            }
            return true;
        }
    }

    /** The plan for x of shape s in {@code layout}, or null when this cannot run it (then Java does). */
    private Plan plan(BatchNormShape s, CpuDnnlLayout layout, float eps) {
        CpuDnnlLayout view = view(s, layout);
        if (view == null) return null;
        return plans.get(new Key(view, eps));
    }

    /** The group view [n / G, G c, h, w] of {@code l} (see the class comment), or null where there is none. */
    private CpuDnnlLayout view(BatchNormShape s, CpuDnnlLayout l) {
        int block = l.channelBlock();
        long[] d = l.dims;
        if (block == 0 || s.hw() == 1 || d[0] != s.n() || d[1] != s.c() || d[2] * d[3] != s.hw()) return null;
        if (s.groups() == 1) return l;
        if (s.c() % block != 0) return null;
        return tensors.layout(new long[]{s.groupSize(), (long) s.groups() * s.c(), d[2], d[3]}, l.tag);
    }

    /** [G c] floats: the per-channel values of {@code v} once per group. */
    private MemorySegment tiled(BatchNormShape s, CpuBuffer v) {
        v.forRead();
        MemorySegment t = tensors.temporary(4L * s.statsSize());
        for (int g = 0; g < s.groups(); g++)
            MemorySegment.copy(v.array, v.offset, t, JAVA_FLOAT, 4L * g * s.c(), s.c());
        return t;
    }

    private static void saveStatistics(BatchNormShape s, MemorySegment meanSeg, MemorySegment varSeg,
                                       CpuBuffer mean, CpuBuffer invStd, CpuBuffer runningMean,
                                       CpuBuffer runningVar, float momentum, float eps) {
        mean.forWrite();
        invStd.forWrite();
        runningMean.forWrite();
        runningVar.forWrite();
        int c = s.c(), groups = s.groups();
        long m = (long) s.groupSize() * s.hw();
        for (int ch = 0; ch < c; ch++) {
            double meanTotal = 0, varTotal = 0;
            for (int g = 0; g < groups; g++) {
                int at = g * c + ch;
                float mu = meanSeg.getAtIndex(JAVA_FLOAT, at);
                double var = varSeg.getAtIndex(JAVA_FLOAT, at);
                mean.array[mean.offset + at] = mu;
                invStd.array[invStd.offset + at] = (float) (1 / Math.sqrt(var + eps));
                meanTotal += mu;
                varTotal += var * m / (m - 1);
            }
            int rm = runningMean.offset + ch, rv = runningVar.offset + ch;
            runningMean.array[rm] = (float) ((1.0 - momentum) * runningMean.array[rm] + momentum * meanTotal / groups);
            runningVar.array[rv] = (float) ((1.0 - momentum) * runningVar.array[rv] + momentum * varTotal / groups);
        }
    }

    /** out[ch] += sum over groups g of per[g c + ch]. */
    private static void addOverGroups(BatchNormShape s, MemorySegment per, CpuBuffer out) {
        out.forWrite();
        for (int ch = 0; ch < s.c(); ch++) {
            double sum = 0;
            for (int g = 0; g < s.groups(); g++) sum += per.getAtIndex(JAVA_FLOAT, g * s.c() + ch);
            out.array[out.offset + ch] += (float) sum;
        }
    }

    /** Forward and backward primitives over one view, and their memory objects (pointed at data per run). */
    private final class Plan implements CpuDnnlPlans.Plan {
        final MemorySegment forwardPd, backwardPd, forward, backward, forwardArgs, backwardArgs;
        /** src, dst, mean, variance, scale, shift. */
        final MemorySegment[] forwardMemories = new MemorySegment[6];
        /** src, diff dst, mean, variance, scale, shift (unused, but oneDNN asks for it), diff src, diff scale, diff shift. */
        final MemorySegment[] backwardMemories = new MemorySegment[9];

        Plan(CpuDnnlLayout view, float eps) {
            int flags = CpuDnnl.USE_SCALE | CpuDnnl.USE_SHIFT;
            MemorySegment op = arena.allocate(CpuDnnl.OP_DESC_BYTES, 64);
            try {
                CpuDnnl.check("dnnl_batch_normalization_forward_desc_init", (int) dnnl.batchNormForwardDescInit
                        .invokeExact(op, CpuDnnl.FORWARD_TRAINING, view.md, eps, flags));
            } catch (Throwable t) {
                throw CpuDnnl.rethrow(t);
            }
            forwardPd = tensors.primitiveDesc(op, MemorySegment.NULL);
            MemorySegment bop = arena.allocate(CpuDnnl.OP_DESC_BYTES, 64);
            try {
                CpuDnnl.check("dnnl_batch_normalization_backward_desc_init", (int) dnnl.batchNormBackwardDescInit
                        .invokeExact(bop, CpuDnnl.BACKWARD, view.md, view.md, eps, flags));
            } catch (Throwable t) {
                CpuDnnl.destroy(dnnl.primitiveDescDestroy, forwardPd);
                throw CpuDnnl.rethrow(t);
            }
            backwardPd = tensors.primitiveDesc(bop, forwardPd);
            MemorySegment stats = dnnl.memoryDesc(arena, CpuDnnl.TAG_A, view.dims[1]);
            MemorySegment[] fMd = {view.md, view.md, stats, stats, stats, stats};
            for (int i = 0; i < fMd.length; i++) forwardMemories[i] = dnnl.createMemory(fMd[i]);
            MemorySegment[] bMd = {view.md, view.md, stats, stats, stats, stats, view.md, stats, stats};
            for (int i = 0; i < bMd.length; i++) backwardMemories[i] = dnnl.createMemory(bMd[i]);
            MemorySegment[] f = forwardMemories, b = backwardMemories;
            forwardArgs = tensors.args(CpuDnnl.ARG_SRC, f[0], CpuDnnl.ARG_DST, f[1], CpuDnnl.ARG_MEAN, f[2],
                    CpuDnnl.ARG_VARIANCE, f[3], CpuDnnl.ARG_SCALE, f[4], CpuDnnl.ARG_SHIFT, f[5]);
            backwardArgs = tensors.args(CpuDnnl.ARG_SRC, b[0], CpuDnnl.ARG_DIFF_DST, b[1], CpuDnnl.ARG_MEAN, b[2],
                    CpuDnnl.ARG_VARIANCE, b[3], CpuDnnl.ARG_SCALE, b[4], CpuDnnl.ARG_SHIFT, b[5], CpuDnnl.ARG_DIFF_SRC,
                    b[6], CpuDnnl.ARG_DIFF_SCALE, b[7], CpuDnnl.ARG_DIFF_SHIFT, b[8]);
            forward = dnnl.createPrimitive(forwardPd);
            backward = dnnl.createPrimitive(backwardPd);
        }

        @Override
        public void close() {
            dnnl.destroyAll(new MemorySegment[]{forward, backward}, forwardMemories, backwardPd, forwardPd);
            dnnl.destroyAll(new MemorySegment[0], backwardMemories);
        }
    }

    @Override
    public void close() {
        synchronized (tensors) {
            plans.close();
            arena.close();
        }
    }
}
