package dev.jmoco.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/**
 * Splits an index range [0, n) over all cores. Work below {@code grain} items per task runs on the caller's
 * thread, so small ops pay no scheduling cost.
 */
public final class Parallel {

    /** Body of a parallel loop: handles indices [start, end). */
    @FunctionalInterface
    public interface Range { void run(int start, int end); }

    private final ForkJoinPool pool;
    private final int threads;

    public Parallel(int threads) {
        this.threads = Math.max(1, threads);
        this.pool = this.threads == 1 ? null : new ForkJoinPool(this.threads);
    }

    public int threads() { return threads; }

    /** Runs body over [0, n) in at most {@code threads} chunks of at least {@code grain} indices. */
    public void forRange(int n, int grain, Range body) {
        int chunks = (int) Math.min(threads, Math.max(1L, n / Math.max(1, grain)));
        if (chunks <= 1 || pool == null) {
            if (n > 0) body.run(0, n);
            return;
        }
        if (java.util.concurrent.ForkJoinTask.getPool() == pool) { // nested: already on a worker, stay there
            body.run(0, n);
            return;
        }
        pool.invoke(new Split(body, n, chunks, 0, chunks));
    }

    void shutdown() { if (pool != null) pool.shutdownNow(); }

    private static final class Split extends RecursiveAction {
        private final Range body;
        private final int n, chunks, lo, hi;

        Split(Range body, int n, int chunks, int lo, int hi) {
            this.body = body; this.n = n; this.chunks = chunks; this.lo = lo; this.hi = hi;
        }

        @Override
        protected void compute() {
            if (hi - lo == 1) {
                int start = (int) ((long) n * lo / chunks), end = (int) ((long) n * hi / chunks);
                if (end > start) body.run(start, end);
                return;
            }
            int mid = (lo + hi) >>> 1;
            invokeAll(new Split(body, n, chunks, lo, mid), new Split(body, n, chunks, mid, hi));
        }
    }
}
