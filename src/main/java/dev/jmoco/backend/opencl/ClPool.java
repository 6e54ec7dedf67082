package dev.jmoco.backend.opencl;

import dev.jmoco.backend.PoolStats;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.cl_context;
import org.jocl.cl_mem;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Device memory pooled per size class. clCreateBuffer is slow and may synchronise the device, so a training
 * step that asks for the same sizes every time must be served from the pool once warm. Size classes: powers of
 * two up to 1 MiB, then multiples of 1 MiB, so at most half of a small and 1 MiB of a large buffer is waste.
 *
 * <p>Returning a cl_mem to the pool while kernels that use it are still queued is safe: the backend has one
 * in-order queue, so whatever is enqueued next on the reused memory runs after them.
 */
final class ClPool {
    private static final long MIB = 1L << 20;

    private final cl_context context;
    private final Map<Long, ArrayDeque<cl_mem>> free = new HashMap<>();
    private final Map<cl_mem, Long> classOf = new IdentityHashMap<>();
    private long created;
    private long live;
    private long pooledBytes;

    ClPool(cl_context context) { this.context = context; }

    /** A cl_mem of at least {@code bytes} bytes (at least one float: OpenCL refuses empty buffers). */
    synchronized cl_mem acquire(long bytes) {
        long size = sizeClass(Math.max(bytes, Float.BYTES));
        live++;
        ArrayDeque<cl_mem> q = free.get(size);
        if (q != null && !q.isEmpty()) {
            pooledBytes -= size;
            return q.pop();
        }
        cl_mem mem;
        try {
            mem = CL.clCreateBuffer(context, CL.CL_MEM_READ_WRITE, size, null, null);
        } catch (CLException e) {
            live--;
            throw ClError.of("clCreateBuffer(" + size + " bytes)", e);
        }
        created++;
        classOf.put(mem, size);
        return mem;
    }

    /** Returns {@code mem} for reuse; a no-op after {@link #releaseAll} (a buffer closed after its backend). */
    synchronized void release(cl_mem mem) {
        Long size = classOf.get(mem);
        if (size == null) return;
        live--;
        pooledBytes += size;
        free.computeIfAbsent(size, k -> new ArrayDeque<>()).push(mem);
    }

    synchronized PoolStats stats() { return new PoolStats(created, live, pooledBytes); }

    /** Releases every cl_mem this pool created, pooled or not (the backend is closing). */
    synchronized void releaseAll() {
        for (cl_mem mem : classOf.keySet()) CL.clReleaseMemObject(mem);
        classOf.clear();
        free.clear();
        pooledBytes = 0;
    }

    /** The size class of a request of {@code bytes} &gt;= 2 bytes. */
    static long sizeClass(long bytes) {
        if (bytes <= MIB) return Long.highestOneBit(bytes - 1) << 1;
        return (bytes + MIB - 1) / MIB * MIB;
    }
}
