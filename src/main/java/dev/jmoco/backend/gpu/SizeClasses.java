package dev.jmoco.backend.gpu;

/**
 * Size classes of the GPU runtimes' device allocator ({@link DevicePool}): powers of two up to 1 MiB, then
 * multiples of 1 MiB, so at most half of a small and 1 MiB of a large buffer is waste while a training step that asks for
 * the same sizes every time is served from the pool.
 */
public final class SizeClasses {
    private static final long MIB = 1L << 20;
    /** The smallest class: one float (CUDA and OpenCL refuse zero-byte allocations). */
    public static final long MIN = Float.BYTES;

    private SizeClasses() {}

    /** The size class of a request of {@code bytes} &gt;= 0 bytes. */
    public static long of(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("negative size " + bytes);
        if (bytes <= MIN) return MIN;
        if (bytes <= MIB) return Long.highestOneBit(bytes - 1) << 1;
        return (bytes + MIB - 1) / MIB * MIB;
    }
}
