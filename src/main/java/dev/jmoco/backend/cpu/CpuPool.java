package dev.jmoco.backend.cpu;

import dev.jmoco.backend.PoolStats;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Float arrays pooled by exact length. A training step asks for the same sizes every time, so after the first
 * step every request is served from the pool and the step allocates no tensor storage.
 */
final class CpuPool {
    private final Map<Integer, ArrayDeque<float[]>> free = new HashMap<>();
    private long created;
    private long live;
    private long pooledBytes;

    synchronized float[] acquire(int size) {
        live++;
        return take(size);
    }

    /**
     * An array for a live buffer that gave its own back while its contents were elsewhere ({@link #park}):
     * the live count stays, since the buffer does.
     */
    synchronized float[] unpark(int size) { return take(size); }

    /** Takes back a live buffer's array while its contents are elsewhere (see CpuBuffer#array). */
    synchronized void park(float[] array) {
        pooledBytes += 4L * array.length;
        free.computeIfAbsent(array.length, k -> new ArrayDeque<>()).push(array);
    }

    private float[] take(int size) {
        ArrayDeque<float[]> q = free.get(size);
        if (q != null && !q.isEmpty()) {
            pooledBytes -= 4L * size;
            return q.pop();
        }
        created++;
        return new float[size];
    }

    synchronized void release(float[] array) {
        live--;
        park(array);
    }

    /** A buffer whose array was parked closed: nothing to take back, one live buffer fewer. */
    synchronized void releaseParked() { live--; }

    synchronized PoolStats stats() { return new PoolStats(created, live, pooledBytes); }

    synchronized void clear() {
        free.clear();
        pooledBytes = 0;
    }
}
