package dev.jmoco.backend.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Host memory for asynchronous uploads (index arrays). cuMemcpyHtoDAsync may read its source until the stream
 * has run it, so the source must stay put: direct (off-heap) buffers, held here until the backend has waited
 * on the stream ({@link #retire}), then reused. A Java array would be moved by the GC. Same scheme as the
 * OpenCL backend's ClStaging (package-private there); pinned memory (cuMemAllocHost) would make the copies
 * truly asynchronous and is the next step once a GPU can measure it.
 */
final class CudaStaging {
    private final List<ByteBuffer> inFlight = new ArrayList<>();
    private final List<ByteBuffer> free = new ArrayList<>();
    private long heldBytes;

    /** A direct buffer holding {@code values}, kept alive until the next {@link #retire}. */
    synchronized ByteBuffer hold(int[] values) {
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
    synchronized long heldBytes() { return heldBytes; }

    /** The stream has finished everything queued so far: every held buffer may be reused. */
    synchronized void retire() {
        free.addAll(inFlight);
        inFlight.clear();
        heldBytes = 0;
    }
}
