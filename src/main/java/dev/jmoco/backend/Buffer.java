package dev.jmoco.backend;

/**
 * A run of float32 values owned by one {@link Backend}: host memory on the CPU, device memory on a GPU.
 *
 * <p>A buffer from {@link Backend#allocate} is a <em>root</em>; {@link #slice} gives views into it that share
 * its storage (the parameter arena hands out per-layer views this way). Closing a root returns its storage to
 * the backend's pool; closing a view does nothing. Contents of a freshly allocated buffer are undefined.
 */
public interface Buffer extends AutoCloseable {

    /** Number of floats in this buffer or view. */
    long size();

    /** A view of {@code size} floats starting {@code offset} floats into this buffer. */
    Buffer slice(long offset, long size);

    /** The backend that owns the storage. */
    Backend backend();

    /** Returns a root buffer to its backend's pool; a no-op on views. Idempotent. */
    @Override
    void close();
}
