package dev.jmoco.backend.cpu;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.Checks;

/** A view {@code [offset, offset + size)} of a pooled float[]; roots return the array to the pool on close. */
final class CpuBuffer implements Buffer {
    final float[] array;
    final int offset;
    private final int size;
    private final CpuBackend backend;
    private final boolean root;
    private boolean closed;

    CpuBuffer(CpuBackend backend, float[] array, int offset, int size, boolean root) {
        this.backend = backend;
        this.array = array;
        this.offset = offset;
        this.size = size;
        this.root = root;
    }

    @Override public long size() { return size; }
    @Override public Backend backend() { return backend; }

    @Override
    public Buffer slice(long offset, long size) {
        Checks.slice(offset, size, this.size);
        return new CpuBuffer(backend, array, this.offset + (int) offset, (int) size, false);
    }

    @Override
    public void close() {
        if (!root || closed) return;
        closed = true;
        backend.pool.release(array);
    }

    @Override public String toString() { return "CpuBuffer[" + size + "]"; }
}
