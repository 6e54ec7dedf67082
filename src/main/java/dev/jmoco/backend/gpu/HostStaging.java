package dev.jmoco.backend.gpu;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Host memory for asynchronous uploads of index arrays (clEnqueueWriteBuffer without blocking,
 * cuMemcpyHtoDAsync): the device may read the source until its queue (stream) has run the copy, so the source
 * must stay put: direct (off-heap) buffers, held here until the backend has waited on its queue
 * ({@link #retire}), then reused. A Java array would be moved by the GC. Pinned memory (cuMemAllocHost) would
 * make CUDA's copies truly asynchronous; the next step once a GPU can measure it.
 */
public final class HostStaging {
    private final List<ByteBuffer> inFlight = new ArrayList<>();
    private final List<ByteBuffer> free = new ArrayList<>();
    private long heldBytes;

    /** A direct buffer holding {@code values}, kept alive until the next {@link #retire}. */
    public synchronized ByteBuffer hold(int[] values) {
        int bytes = values.length * Integer.BYTES;
        ByteBuffer b = null;
        for (int i = 0; i < free.size(); i++)
            if (free.get(i).capacity() >= bytes) { b = free.remove(i); break; }
        if (b == null) b = ByteBuffer.allocateDirect(Math.max(bytes, 64)).order(ByteOrder.nativeOrder());
        b.clear();
        b.asIntBuffer().put(values);
        b.limit(bytes);
        inFlight.add(b);
        heldBytes += b.capacity();
        return b;
    }

    /** Bytes held for uploads not yet known to be done. */
    public synchronized long heldBytes() { return heldBytes; }

    /** The stream has finished everything queued so far: every held buffer may be reused. */
    public synchronized void retire() {
        free.addAll(inFlight);
        inFlight.clear();
        heldBytes = 0;
    }
}
