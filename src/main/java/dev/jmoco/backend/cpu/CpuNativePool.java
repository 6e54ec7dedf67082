package dev.jmoco.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Off-heap blocks pooled by exact byte size, 64-byte aligned (oneDNN's preference), as {@link CpuPool} pools
 * arrays: after a first training step every request is served from the pool. Blocks are freed together on
 * {@link #close}; one released afterwards is dropped. Not thread-safe: its owner holds the backend's lock.
 */
final class CpuNativePool implements AutoCloseable {
    private final Map<Long, ArrayDeque<MemorySegment>> free = new HashMap<>();
    private final List<Arena> arenas = new ArrayList<>();
    private long liveBytes;
    private boolean closed;

    MemorySegment acquire(long bytes) {
        if (closed) throw new IllegalStateException("cpu: oneDNN memory asked for after the backend closed");
        liveBytes += bytes;
        ArrayDeque<MemorySegment> q = free.get(bytes);
        if (q != null && !q.isEmpty()) return q.pop();
        Arena arena = Arena.ofShared(); // shared: copies into it run on the pool's threads
        arenas.add(arena);
        return arena.allocate(bytes, 64);
    }

    void release(MemorySegment block) {
        if (closed) return;
        liveBytes -= block.byteSize();
        free.computeIfAbsent(block.byteSize(), k -> new ArrayDeque<>()).push(block);
    }

    /** Bytes handed out and not yet released; for tests. */
    long liveBytes() { return liveBytes; }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (Arena a : arenas) a.close();
        arenas.clear();
        free.clear();
        liveBytes = 0;
    }
}
