package dev.jmoco.backend.gpu;

import dev.jmoco.backend.Buffer;

/**
 * What the host code of the shared kernels (kernels/*.cl) needs from a device runtime: OpenCL and CUDA each
 * implement it once, and one class per op family, written against it, computes launch geometry, scratch
 * sizes and argument lists for both. Not thread-safe: one training loop drives a runtime.
 */
public interface KernelRuntime {

    /** A launch of the kernel {@code kernelName} from the runtime's one module (program) of all kernel files. */
    KernelLaunch launch(String kernelName);

    /** A pooled root buffer of {@code floats} floats for intermediate results; the caller closes it. */
    DeviceBuffer scratch(long floats);

    /**
     * A pooled root buffer holding {@code values} (indices, labels); the caller closes it. The upload does not
     * wait for the device; launches queued after it see the values.
     */
    DeviceBuffer ints(int[] values);

    /** The largest work-group (thread block) the device runs. */
    long maxWorkGroupSize();

    /** Local (shared) memory per work-group, in bytes. */
    long localMemBytes();

    /** Compute units (OpenCL) or streaming multiprocessors (CUDA): how many work-groups run at once, roughly. */
    int computeUnits();

    /** The buffer {@code b} as this runtime's, or IllegalArgumentException naming {@code op} and its backend. */
    DeviceBuffer own(String op, Buffer b);
}
