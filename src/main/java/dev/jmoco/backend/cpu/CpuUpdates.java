package dev.jmoco.backend.cpu;

/** Whole-arena state updates: momentum EMA, queue enqueue, SGD step (see Backend). */
final class CpuUpdates {
    private final Parallel parallel;

    CpuUpdates(Parallel parallel) { this.parallel = parallel; }

    void ema(float m, CpuBuffer target, CpuBuffer source) { throw new UnsupportedOperationException("not implemented yet"); }
    void enqueue(CpuBuffer queue, int capacity, int c, CpuBuffer keys, int n, int ptr) { throw new UnsupportedOperationException("not implemented yet"); }
    void sgd(float lr, float momentum, float weightDecay, CpuBuffer param, CpuBuffer grad, CpuBuffer velocity) { throw new UnsupportedOperationException("not implemented yet"); }
}
