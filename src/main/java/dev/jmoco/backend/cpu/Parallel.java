package dev.jmoco.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;

/**
 * Splits an index range [0, n) over all cores. Work below {@code grain} items per task runs on the caller's
 * thread, so small ops pay no scheduling cost.
 */
public final class Parallel {

    /** Body of a parallel loop: handles indices [start, end). */
    @FunctionalInterface
    public interface Range { void run(int start, int end); }

    /** Body of a chunked loop: chunk number {@code chunk} in [0, {@link #chunks}) handles [start, end). */
    @FunctionalInterface
    public interface Chunk { void run(int chunk, int start, int end); }

    private final ForkJoinPool pool;
    private final int threads;

    public Parallel(int threads) {
        this.threads = Math.max(1, threads);
        this.pool = this.threads == 1 ? null : new ForkJoinPool(this.threads);
    }

    public int threads() { return threads; }

    /** Runs body over [0, n) in at most {@code threads} chunks of at least {@code grain} indices. */
    public void forRange(int n, int grain, Range body) { forChunks(n, grain, (chunk, start, end) -> body.run(start, end)); }

    /**
     * How many chunks {@link #forChunks} splits [0, n) into. Kernels that need scratch per chunk take it for
     * all chunks at once before the loop: the number of buffers then does not depend on how the threads
     * happen to overlap, so a warm step never misses the pool.
     */
    public int chunks(int n, int grain) {
        if (pool == null || ForkJoinTask.getPool() == pool) return 1; // nested: already on a worker, stay there
        return (int) Math.min(threads, Math.max(1L, n / Math.max(1, grain)));
    }

    /** Like {@link #forRange}, also passing each chunk's number (0 .. chunks(n, grain) - 1). */
    public void forChunks(int n, int grain, Chunk body) {
        int chunks = chunks(n, grain);
        if (chunks <= 1) {
            if (n > 0) body.run(0, 0, n);
            return;
        }
        pool.invoke(new Split(body, n, chunks, 0, chunks));
    }

    void shutdown() { if (pool != null) pool.shutdownNow(); }

    private static final class Split extends RecursiveAction {
        private final Chunk body;
        private final int n, chunks, lo, hi;

        Split(Chunk body, int n, int chunks, int lo, int hi) {
            this.body = body; this.n = n; this.chunks = chunks; this.lo = lo; this.hi = hi;
        }

        @Override
        protected void compute() {
            if (hi - lo == 1) {
                int start = (int) ((long) n * lo / chunks), end = (int) ((long) n * hi / chunks);
                if (end > start) body.run(lo, start, end);
                return;
            }
            int mid = (lo + hi) >>> 1;
            invokeAll(new Split(body, n, chunks, lo, mid), new Split(body, n, chunks, mid, hi));
        }
    }
}
