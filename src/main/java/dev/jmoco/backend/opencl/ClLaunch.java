package dev.jmoco.backend.opencl;

import dev.jmoco.backend.gpu.DeviceBuffer;
import dev.jmoco.backend.gpu.KernelLaunch;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_kernel;

/**
 * A {@link KernelLaunch} on OpenCL: arguments go to clSetKernelArg, {@code run} to clEnqueueNDRangeKernel. Each
 * buffer is (cl_mem, int offset in floats), so {@link #arg(DeviceBuffer)} sets two arguments. The cl_kernel is shared
 * (cached per name); OpenCL copies argument values at enqueue time, so the next launch may reuse it at once.
 */
final class ClLaunch implements KernelLaunch {
    private final cl_command_queue queue;
    private final cl_kernel kernel;
    private final String name;
    private int index;

    ClLaunch(cl_command_queue queue, cl_kernel kernel, String name) {
        this.queue = queue;
        this.kernel = kernel;
        this.name = name;
    }

    /** Sets two arguments: the buffer's cl_mem, then its offset in floats (int); {@code b} is a ClBuffer. */
    @Override
    public ClLaunch arg(DeviceBuffer b) {
        set(Sizeof.cl_mem, Pointer.to(((ClBuffer) b).mem()));
        return arg(Math.toIntExact(b.offset()));
    }

    @Override public ClLaunch arg(int v) { return set(Sizeof.cl_int, Pointer.to(new int[] {v})); }

    @Override public ClLaunch arg(float v) { return set(Sizeof.cl_float, Pointer.to(new float[] {v})); }

    /** Enqueues a 1-D launch; {@code global0} is rounded up to a multiple of {@code local0}; 0 runs nothing. */
    @Override
    public void run(long global0, int local0) {
        if (global0 == 0) return;
        enqueue(new long[] {roundUp(global0, local0)}, new long[] {local0});
    }

    /** Enqueues a 2-D launch; each global size is rounded up to a multiple of its local size. */
    @Override
    public void run(long global0, long global1, int local0, int local1) {
        if (global0 == 0 || global1 == 0) return;
        enqueue(new long[] {roundUp(global0, local0), roundUp(global1, local1)}, new long[] {local0, local1});
    }

    private void enqueue(long[] global, long[] local) {
        try {
            CL.clEnqueueNDRangeKernel(queue, kernel, global.length, null, global, local, 0, null, null);
        } catch (CLException e) {
            throw ClError.of("clEnqueueNDRangeKernel(" + name + ")", e);
        }
    }

    private ClLaunch set(long size, Pointer value) {
        try {
            CL.clSetKernelArg(kernel, index, size, value);
        } catch (CLException e) {
            throw ClError.of("clSetKernelArg(" + name + ", " + index + ")", e);
        }
        index++;
        return this;
    }

    private static long roundUp(long n, int multiple) { return (n + multiple - 1) / multiple * multiple; }
}
