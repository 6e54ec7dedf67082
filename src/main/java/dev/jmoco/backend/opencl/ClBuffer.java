package dev.jmoco.backend.opencl;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Checks;
import dev.jmoco.backend.gpu.DeviceBuffer;
import org.jocl.cl_mem;

/**
 * A view {@code [offset, offset + size)} (in floats) of a pooled cl_mem. Kernels take each buffer as the pair
 * (cl_mem, int offset) instead of sub-buffers: sub-buffer origins must be aligned to
 * CL_DEVICE_MEM_BASE_ADDR_ALIGN, which per-layer views of a parameter arena are not. Closing a root returns its
 * cl_mem to the pool; closing a view does nothing.
 */
final class ClBuffer implements DeviceBuffer {
    private final OpenClBackend backend;
    private final cl_mem mem;
    private final long offset;
    private final long size;
    private final boolean root;
    private boolean closed;

    ClBuffer(OpenClBackend backend, cl_mem mem, long offset, long size, boolean root) {
        this.backend = backend;
        this.mem = mem;
        this.offset = offset;
        this.size = size;
        this.root = root;
    }

    /** The root's device memory. */
    cl_mem mem() { return mem; }

    /** Offset of this view into {@link #mem()}, in floats. */
    @Override public long offset() { return offset; }

    @Override public long size() { return size; }
    @Override public Backend backend() { return backend; }

    @Override
    public ClBuffer slice(long offset, long size) {
        Checks.slice(offset, size, this.size);
        return new ClBuffer(backend, mem, this.offset + offset, size, false);
    }

    @Override
    public void close() {
        if (!root || closed) return;
        closed = true;
        backend.pool.release(mem);
    }

    @Override public String toString() { return "ClBuffer[" + size + (offset == 0 ? "" : " at " + offset) + "]"; }
}
