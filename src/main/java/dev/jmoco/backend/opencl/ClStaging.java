package dev.jmoco.backend.opencl;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Host memory for non-blocking uploads (index arrays). A non-blocking clEnqueueWriteBuffer may read its source
 * any time until the queue has run it, so the source must stay put: direct (off-heap) buffers, held here until
 * the backend has waited on the queue ({@link #retire}), then reused. A Java array would be moved by the GC.
 */
final class ClStaging {
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

    /** The queue has finished everything enqueued so far: every held buffer may be reused. */
    synchronized void retire() {
        free.addAll(inFlight);
        inFlight.clear();
        heldBytes = 0;
    }
}
