package dev.jmoco.backend.gpu;

import dev.jmoco.backend.Buffer;

/**
 * A buffer in device memory that the shared kernels address as (root pointer, offset in floats): a view of a
 * parameter arena is its root plus an offset, since OpenCL sub-buffers would need aligned origins.
 */
public interface DeviceBuffer extends Buffer {

    /** Offset of this view into its root's memory, in floats. */
    long offset();

    /** A view of this buffer's root, so that a view of a device buffer is one too. */
    @Override
    DeviceBuffer slice(long offset, long size);
}
