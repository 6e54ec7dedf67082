package dev.jmoco.backend.cpu;

/**
 * Whole-arena state updates: momentum EMA, queue enqueue, SGD step (see Backend). EMA and SGD stream tens of
 * megabytes once, so they are memory-bound: each is one pass over its buffers, split over all cores in
 * contiguous chunks, on the Vector API when present ({@link CpuUpdateVectorLoops}) and in plain loops otherwise
 * and for the tails (measured against the machine's copy bandwidth by EmaBench, SgdBench and CopyBench).
 */
final class CpuUpdates {
    /** Elements per task below which a loop stays on the caller's thread (about 256 KB of traffic). */
    private static final int GRAIN = 1 << 15;

    private final Parallel parallel;
    private final boolean vector;

    /** Uses the Vector API loops when the module jdk.incubator.vector is present. */
    CpuUpdates(Parallel parallel) {
        this(parallel, ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent());
    }

    /** With {@code vector} false, the plain loops only (for tests). */
    CpuUpdates(Parallel parallel, boolean vector) {
        this.parallel = parallel;
        this.vector = vector;
    }

    /**
     * target = m target + (1 - m) source, the formula of the reference MoCo (so m = 0 gives source exactly
     * for finite targets, and NaN in the target propagates as in PyTorch).
     */
    void ema(float m, CpuBuffer target, CpuBuffer source) {
        float[] t = target.array, s = source.array;
        int to = target.offset, so = source.offset;
        float om = 1 - m;
        parallel.forRange((int) target.size(), GRAIN, (start, end) -> {
            int i = vector ? CpuUpdateVectorLoops.ema(m, t, to, s, so, start, end) : start;
            for (; i < end; i++) t[to + i] = m * t[to + i] + om * s[so + i];
        });
    }

    /**
     * Ring-buffer write. Invariant: after the call, queue rows (ptr + i) mod capacity hold keys row i for
     * i &lt; n, and no other row changed; so the rows that wrap past the end land at rows 0, 1, ... in order.
     * At most two contiguous copies: [ptr, min(ptr + n, capacity)) and, on wrap, [0, ptr + n - capacity).
     */
    void enqueue(CpuBuffer queue, int capacity, int c, CpuBuffer keys, int n, int ptr) {
        int first = Math.min(n, capacity - ptr);
        System.arraycopy(keys.array, keys.offset, queue.array, queue.offset + ptr * c, first * c);
        if (n > first)
            System.arraycopy(keys.array, keys.offset + first * c, queue.array, queue.offset, (n - first) * c);
    }

    /** PyTorch's SGD step in one pass: d = g + wd p; v = momentum v + d; p -= lr v. */
    void sgd(float lr, float momentum, float weightDecay, CpuBuffer param, CpuBuffer grad, CpuBuffer velocity) {
        float[] p = param.array, g = grad.array, v = velocity.array;
        int po = param.offset, go = grad.offset, vo = velocity.offset;
        parallel.forRange((int) param.size(), GRAIN, (start, end) -> {
            int i = vector ? CpuUpdateVectorLoops.sgd(lr, momentum, weightDecay, p, po, g, go, v, vo, start, end)
                    : start;
            for (; i < end; i++) {
                float d = g[go + i] + weightDecay * p[po + i];
                float vi = momentum * v[vo + i] + d;
                v[vo + i] = vi;
                p[po + i] -= lr * vi;
            }
        });
    }
}
