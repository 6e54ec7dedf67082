package dev.jmoco.backend.gpu;

/**
 * One kernel launch being set up: arguments in the kernel's declaration order, then {@code run}. Every buffer
 * parameter of a shared kernel is the pair (pointer, int offset in floats), so {@link #arg(DeviceBuffer)} sets
 * two arguments. Sizes follow OpenCL: the global size counts work-items (threads) and is rounded up to a
 * multiple of the local size (CUDA: blocks = global / local); a global size of 0 runs nothing.
 */
public interface KernelLaunch {

    /** Sets two arguments: the buffer's device pointer, then its offset in floats (int). */
    KernelLaunch arg(DeviceBuffer b);

    KernelLaunch arg(int v);

    KernelLaunch arg(float v);

    /** Queues a 1-D launch. */
    void run(long global0, int local0);

    /** Queues a 2-D launch. */
    void run(long global0, long global1, int local0, int local1);
}
