package dev.jmoco.backend.cpu;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.Checks;

import java.lang.foreign.MemorySegment;

/**
 * A view {@code [offset, offset + size)} of a pooled float[]; roots return the array to the pool on close.
 * <p>
 * A root's contents may live elsewhere than its array, which saves the copies between oneDNN primitives
 * (see {@link CpuDnnlTensors}): off-heap in a oneDNN layout (a {@link Resident} copy, written by a primitive,
 * read directly by the next one), or nowhere yet, when it was filled with zeros (a gradient that no op has
 * added to; the first backward pass that writes it overwrites instead of adding). Java kernels only touch the
 * array: the backend's entry points call {@link #forRead} on the buffers an op reads and {@link #forWrite} on
 * those it writes, which bring the array up to date first, on the calling thread (never inside a parallel
 * loop). Views share their root's state. State changes hold the backend's {@link CpuBackend#stateLock}, the
 * one lock oneDNN's calls hold too, so that a buffer is never brought up to date twice at once.
 */
final class CpuBuffer implements Buffer {
    /** A root's contents off-heap, in {@code layout}. */
    record Resident(MemorySegment data, CpuDnnlLayout layout) {}

    /**
     * The heap storage; null while a root that was never sliced keeps its contents only off-heap or as
     * "zero" (the array went back to the pool: an activation does not take its size twice). Kernels read it
     * after {@link #forRead} / {@link #forWrite}, which bring it back.
     */
    float[] array;
    final int offset;
    private final int size;
    private final CpuBackend backend;
    /** The root this buffer views; itself for a root. The state below is the root's. */
    private final CpuBuffer root;
    private boolean closed;
    /** Whether a view of this root was ever made (views hold the array: it then stays for good). */
    private boolean sliced;
    /** Whether the array holds the contents (else they are zero, or only in {@link #resident}). */
    private boolean heapCurrent = true;
    private boolean zero;
    /** The contents off-heap, current whenever not null (the array may be current as well). */
    private Resident resident;

    /** Whether close returns the array to the pool (false: a kernel's view of an array it owns). */
    private final boolean pooled;

    /**
     * {@code pooled} true: a root over an array from the backend's pool; false: a view of an array a kernel
     * owns, which it never closes, and whose contents are only ever on the heap.
     */
    CpuBuffer(CpuBackend backend, float[] array, int offset, int size, boolean pooled) {
        this(backend, array, offset, size, null, pooled);
    }

    private CpuBuffer(CpuBackend backend, float[] array, int offset, int size, CpuBuffer root, boolean pooled) {
        this.backend = backend;
        this.array = array;
        this.offset = offset;
        this.size = size;
        this.root = root == null ? this : root;
        this.pooled = pooled;
    }

    @Override public long size() { return size; }
    @Override public Backend backend() { return backend; }

    @Override
    public Buffer slice(long offset, long size) {
        Checks.slice(offset, size, this.size);
        synchronized (backend.stateLock()) {
            if (root.isRoot()) {
                root.sliced = true;
                root.ensureArray();
            }
            return new CpuBuffer(backend, root.array, this.offset + (int) offset, (int) size, root, false);
        }
    }

    /** Whether this is a pooled root (it covers its whole array, and may keep its contents off-heap). */
    boolean isRoot() { return root == this && pooled; }

    /** Brings the array up to date for a Java kernel that reads this buffer. */
    void forRead() { root.syncHeap(); }

    /** Brings the array up to date for a Java kernel that writes (or adds into) this buffer; drops other copies. */
    void forWrite() {
        synchronized (backend.stateLock()) {
            root.syncHeap();
            root.dropResident();
        }
    }

    /** The contents become zeros, in no memory yet (a root; {@link #forRead} fills the array when needed). */
    void markZero() {
        synchronized (backend.stateLock()) {
            requireRoot();
            dropResident();
            heapCurrent = false;
            zero = true;
            releaseArray();
        }
    }

    /** Whether the contents are zeros not yet written anywhere (a root that {@link #markZero} left alone). */
    boolean isZero() {
        synchronized (backend.stateLock()) {
            return isRoot() && zero;
        }
    }

    /** The root's off-heap copy when current, else null. */
    Resident resident() {
        synchronized (backend.stateLock()) {
            return root.resident;
        }
    }

    /**
     * Makes {@code r} this root's contents: a primitive wrote it ({@code heapToo} false: the array is stale)
     * or it is a staged copy of the array ({@code heapToo} true). The previous off-heap copy goes back.
     */
    void setResident(Resident r, boolean heapToo) {
        synchronized (backend.stateLock()) {
            requireRoot();
            if (resident != null && resident.data() != r.data()) backend.dnnlTensors().release(resident.data());
            resident = r;
            heapCurrent = heapToo;
            zero = false;
            if (!heapToo) releaseArray();
        }
    }

    private void syncHeap() {
        synchronized (backend.stateLock()) {
            if (heapCurrent) return;
            ensureArray();
            if (zero) backend.fillArray(array, 0, size, 0f);
            else backend.dnnlTensors().toHeap(this, resident);
            heapCurrent = true;
            zero = false;
        }
    }

    /** Gives the stale array back to the pool (a root never sliced; see {@link #array}). */
    private void releaseArray() {
        if (sliced || array == null) return;
        backend.pool.park(array);
        array = null;
    }

    private void ensureArray() {
        if (array == null) array = backend.pool.unpark(size);
    }

    private void dropResident() {
        if (resident == null) return;
        backend.dnnlTensors().release(resident.data());
        resident = null;
    }

    private void requireRoot() {
        if (!isRoot()) throw new IllegalStateException("cpu: only a root buffer keeps its contents off-heap");
    }

    @Override
    public void close() {
        if (!isRoot() || closed) return;
        synchronized (backend.stateLock()) {
            closed = true;
            dropResident();
            if (array != null) backend.pool.release(array);
            else backend.pool.releaseParked();
            array = null;
        }
    }

    @Override public String toString() { return "CpuBuffer[" + size + "]"; }
}
