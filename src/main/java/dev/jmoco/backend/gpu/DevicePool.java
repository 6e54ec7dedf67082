package dev.jmoco.backend.gpu;

import dev.jmoco.backend.PoolStats;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The GPU runtimes' caching device allocator: memory pooled per {@link SizeClasses size class}. Allocating
 * device memory is slow and freeing it may synchronise the device, so a warm training step must be served from
 * the pool. Returning memory while queued kernels still use it is safe: each backend has one in-order stream or
 * queue, so whatever runs next on the reused memory runs after them.
 *
 * @param <M> the runtime's handle of one allocation (a device pointer, a cl_mem), compared by identity
 */
public abstract class DevicePool<M> {
    private final Map<Long, ArrayDeque<M>> free = new HashMap<>();
    private final Map<M, Long> classOf = new IdentityHashMap<>();
    private long created;
    private long live;
    private long pooledBytes;

    /** A new allocation of exactly {@code bytes} bytes; throws the runtime's error naming its call. */
    protected abstract M allocate(long bytes);

    /** Frees one allocation (the backend is closing; its stream or queue is idle). */
    protected abstract void free(M memory);

    /** Device memory of at least {@code bytes} bytes. */
    public synchronized M acquire(long bytes) {
        long size = SizeClasses.of(bytes);
        ArrayDeque<M> q = free.get(size);
        if (q != null && !q.isEmpty()) {
            live++;
            pooledBytes -= size;
            return q.pop();
        }
        M memory = allocate(size);
        live++;
        created++;
        classOf.put(memory, size);
        return memory;
    }

    /** Returns {@code memory} for reuse; a no-op after {@link #releaseAll} (a buffer closed after its backend). */
    public synchronized void release(M memory) {
        Long size = classOf.get(memory);
        if (size == null) return;
        live--;
        pooledBytes += size;
        free.computeIfAbsent(size, k -> new ArrayDeque<>()).push(memory);
    }

    public synchronized PoolStats stats() { return new PoolStats(created, live, pooledBytes); }

    /** Frees every allocation of this pool, pooled or not. */
    public synchronized void releaseAll() {
        for (M memory : classOf.keySet()) free(memory);
        classOf.clear();
        free.clear();
        pooledBytes = 0;
    }
}
