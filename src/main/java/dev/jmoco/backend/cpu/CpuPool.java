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
        pooledBytes += 4L * array.length;
        free.computeIfAbsent(array.length, k -> new ArrayDeque<>()).push(array);
    }

    synchronized PoolStats stats() { return new PoolStats(created, live, pooledBytes); }

    synchronized void clear() {
        free.clear();
        pooledBytes = 0;
    }
}
