package dev.jmoco.backend.cuda;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Checks;
import dev.jmoco.backend.gpu.DeviceBuffer;
import jcuda.driver.CUdeviceptr;

/**
 * A view {@code [offset, offset + size)} (in floats) of a pooled device allocation. Kernels take each buffer
 * as the pair (root pointer, int offset), as on OpenCL. Closing a root returns its memory to the pool;
 * closing a view does nothing.
 */
final class CudaBuffer implements DeviceBuffer {
    private final CudaBackend backend;
    private final DeviceMemory root;
    private final long offset;
    private final long size;
    private final boolean isRoot;
    private boolean closed;

    CudaBuffer(CudaBackend backend, DeviceMemory root, long offset, long size, boolean isRoot) {
        this.backend = backend;
        this.root = root;
        this.offset = offset;
        this.size = size;
        this.isRoot = isRoot;
    }

    /** The root allocation's device pointer. */
    DeviceMemory root() { return root; }

    /** The raw device address of this view's first float (for cuBLAS and cuDNN). */
    long address() { return root.address() + offset * Float.BYTES; }

    /** The first float of this view (a new pointer: root plus offset, for copies). */
    CUdeviceptr start() { return root.withByteOffset(offset * Float.BYTES); }

    @Override public long offset() { return offset; }
    @Override public long size() { return size; }
    @Override public Backend backend() { return backend; }

    @Override
    public CudaBuffer slice(long offset, long size) {
        Checks.slice(offset, size, this.size);
        return new CudaBuffer(backend, root, this.offset + offset, size, false);
    }

    @Override
    public void close() {
        if (!isRoot || closed) return;
        closed = true;
        backend.pool.release(root);
    }

    @Override public String toString() { return "CudaBuffer[" + size + (offset == 0 ? "" : " at " + offset) + "]"; }
}
