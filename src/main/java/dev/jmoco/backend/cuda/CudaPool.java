package dev.jmoco.backend.cuda;

import dev.jmoco.backend.PoolStats;
import jcuda.CudaException;
import jcuda.driver.JCudaDriver;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Caching device allocator: memory pooled per {@link SizeClasses size class}. cuMemAlloc is slow and cuMemFree
 * synchronises the device, so a warm training step must be served from the pool. Returning memory while
 * queued kernels still use it is safe: the backend has one stream, so whatever runs next on it runs after them.
 */
final class CudaPool {
    private final Map<Long, ArrayDeque<DeviceMemory>> free = new HashMap<>();
    private final Map<DeviceMemory, Long> classOf = new IdentityHashMap<>();
    private long created;
    private long live;
    private long pooledBytes;

    /** Device memory of at least {@code bytes} bytes; the context must be current. */
    synchronized DeviceMemory acquire(long bytes) {
        long size = SizeClasses.of(bytes);
        ArrayDeque<DeviceMemory> q = free.get(size);
        if (q != null && !q.isEmpty()) {
            live++;
            pooledBytes -= size;
            return q.pop();
        }
        DeviceMemory ptr = new DeviceMemory();
        try {
            JCudaDriver.cuMemAlloc(ptr, size);
        } catch (CudaException e) {
            throw CudaError.of("cuMemAlloc(" + size + " bytes)", e);
        }
        live++;
        created++;
        classOf.put(ptr, size);
        return ptr;
    }

    /** Returns {@code ptr} for reuse; a no-op after {@link #releaseAll} (a buffer closed after its backend). */
    synchronized void release(DeviceMemory ptr) {
        Long size = classOf.get(ptr);
        if (size == null) return;
        live--;
        pooledBytes += size;
        free.computeIfAbsent(size, k -> new ArrayDeque<>()).push(ptr);
    }

    synchronized PoolStats stats() { return new PoolStats(created, live, pooledBytes); }

    /** Frees every allocation of this pool, pooled or not (the backend is closing; the stream is idle). */
    synchronized void releaseAll() {
        for (DeviceMemory ptr : classOf.keySet()) JCudaDriver.cuMemFree(ptr);
        classOf.clear();
        free.clear();
        pooledBytes = 0;
    }
}
