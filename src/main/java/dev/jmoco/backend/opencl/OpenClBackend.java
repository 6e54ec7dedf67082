package dev.jmoco.backend.opencl;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.PoolStats;
import dev.jmoco.backend.gpu.KernelBackend;
import dev.jmoco.backend.gpu.HostStaging;
import dev.jmoco.backend.gpu.KernelRuntime;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;

import java.nio.ByteBuffer;

/**
 * The OpenCL backend: one device, one context, one in-order command queue, and one program built once from
 * {@code kernels/jmoco.h} and every {@code kernels/*.cl}. The ops themselves are {@link KernelBackend}'s
 * (argument checks, then one class per op family, shared with the CUDA backend); they enqueue kernels through
 * this class's {@link KernelRuntime} side ({@link #launch}, {@link #scratch}, {@link #ints}). Ops only
 * enqueue: nothing waits for the device except {@link #download} and {@link #synchronize}.
 *
 * <p>Not thread-safe: kernel arguments are set on shared cl_kernel objects, as one training loop does.
 */
public final class OpenClBackend extends KernelBackend<ClBuffer> {
    private static final long MAX_STAGED_BYTES = 64L << 20;

    private final ClDevice device;
    private final cl_context context;
    private final cl_command_queue queue;
    private final ClProgram program;
    final ClPool pool;
    private final HostStaging staging = new HostStaging();
    private final long maxWorkGroupSize;
    private final long localMemBytes;
    private boolean closed;

    /** Opens {@code device} (from {@link ClDevices#discover()}) and builds the kernels for it. */
    public OpenClBackend(ClDevice device) {
        CL.setExceptionsEnabled(true);
        this.device = device;
        cl_device_id id = device.deviceId();
        try {
            cl_context_properties props = new cl_context_properties();
            props.addProperty(CL.CL_CONTEXT_PLATFORM, device.platformId());
            context = CL.clCreateContext(props, 1, new cl_device_id[] {id}, null, null, null);
        } catch (CLException e) {
            throw ClError.of("clCreateContext(" + device.name() + ")", e);
        }
        try {
            queue = inOrderQueue(context, id);
        } catch (CLException e) {
            CL.clReleaseContext(context);
            throw ClError.of("clCreateCommandQueue", e);
        }
        try {
            program = new ClProgram(context, id, ClKernelSources.all());
        } catch (RuntimeException e) {
            CL.clReleaseCommandQueue(queue);
            CL.clReleaseContext(context);
            throw e;
        }
        pool = new ClPool(context);
        maxWorkGroupSize = ClDevices.deviceLong(id, CL.CL_DEVICE_MAX_WORK_GROUP_SIZE);
        localMemBytes = ClDevices.deviceLong(id, CL.CL_DEVICE_LOCAL_MEM_SIZE);
        initKernels();
    }

    /**
     * An in-order queue without profiling. clCreateCommandQueue is the OpenCL 1.2 call, deprecated since 2.0
     * but kept by every 2.x/3.0 driver, while its replacement does not exist on 1.2-only drivers.
     */
    @SuppressWarnings("deprecation")
    private static cl_command_queue inOrderQueue(cl_context context, cl_device_id device) {
        return CL.clCreateCommandQueue(context, device, 0, null);
    }

    @Override public String name() { return device.gpu() ? "opencl" : "opencl:cpu"; }

    /** The device this backend runs on. */
    public ClDevice device() { return device; }

    // ---- KernelRuntime: what the op-family classes use ----------------------------------------------------

    /** A launch of the kernel {@code kernelName} (cached cl_kernel of the one program). */
    @Override
    public ClLaunch launch(String kernelName) {
        if (closed) throw new IllegalStateException(kernelName + ": " + name() + " backend is closed");
        return new ClLaunch(queue, program.kernel(kernelName), kernelName);
    }

    /** A pooled root buffer of {@code floats} floats for intermediate results; the caller closes it. */
    @Override public ClBuffer scratch(long floats) { return (ClBuffer) allocate(floats); }

    /**
     * A pooled root buffer holding {@code values} (indices, labels); the caller closes it. The upload does not
     * block: its host copy is held until the queue has been waited on.
     */
    @Override
    public ClBuffer ints(int[] values) {
        // Bounds the host memory held between waits (an index-heavy loop that never synchronizes).
        if (staging.heldBytes() > MAX_STAGED_BYTES) synchronize();
        ClBuffer b = scratch(values.length);
        if (values.length == 0) return b;
        ByteBuffer host = staging.hold(values);
        try {
            CL.clEnqueueWriteBuffer(queue, b.mem(), false, 0, (long) values.length * Integer.BYTES,
                    Pointer.to(host), 0, null, null);
        } catch (CLException e) {
            b.close();
            throw ClError.of("clEnqueueWriteBuffer(ints)", e);
        }
        return b;
    }

    /** Unwraps {@code b}, or throws naming the op and the buffer's backend. */
    static ClBuffer cl(String op, Buffer b) {
        if (b instanceof ClBuffer c) return c;
        throw new IllegalArgumentException(op + ": buffer " + b + " of backend "
                + (b == null ? "null" : b.backend().name()) + " passed to an OpenCL backend");
    }

    /** {@link #cl} for this backend's own buffers: a cl_mem of another context must never reach the driver. */
    @Override
    public ClBuffer own(String op, Buffer b) {
        ClBuffer c = cl(op, b);
        if (c.backend() != this)
            throw new IllegalArgumentException(op + ": buffer " + b + " belongs to another OpenCL backend");
        if (closed) throw new IllegalStateException(op + ": " + name() + " backend is closed");
        return c;
    }

    /** CL_DEVICE_MAX_WORK_GROUP_SIZE. */
    @Override public long maxWorkGroupSize() { return maxWorkGroupSize; }

    /** CL_DEVICE_LOCAL_MEM_SIZE in bytes. */
    @Override public long localMemBytes() { return localMemBytes; }

    /** CL_DEVICE_MAX_COMPUTE_UNITS. */
    @Override public int computeUnits() { return device.computeUnits(); }

    /** The command queue, for tests that launch kernels of their own programs. */
    cl_command_queue queue() { return queue; }

    /** Builds a program of this context (the header's tests build their own kernels). */
    ClProgram buildProgram(String source) { return new ClProgram(context, device.deviceId(), source); }

    // ---- memory -------------------------------------------------------------------------------------------

    @Override
    public Buffer allocate(long size) {
        if (size < 0) throw new IllegalArgumentException(name() + ": cannot allocate " + size + " floats");
        if (closed) throw new IllegalStateException("allocate: " + name() + " backend is closed");
        return new ClBuffer(this, pool.acquire(size * Float.BYTES), 0, size, true);
    }

    @Override
    protected void doUpload(float[] src, int srcOffset, ClBuffer d) {
        if (d.size() == 0) return;
        // Blocking: the caller may reuse src as soon as this returns (Backend's contract: copied at call time).
        try {
            CL.clEnqueueWriteBuffer(queue, d.mem(), true, d.offset() * Float.BYTES, d.size() * Float.BYTES,
                    Pointer.to(src).withByteOffset((long) srcOffset * Float.BYTES), 0, null, null);
        } catch (CLException e) {
            throw ClError.of("clEnqueueWriteBuffer(upload)", e);
        }
    }

    @Override
    protected void doDownload(ClBuffer s, float[] dst, int dstOffset) {
        read("download", s, dst, dstOffset, (int) s.size());
    }

    private void read(String op, ClBuffer b, float[] dst, int dstOffset, int floats) {
        if (floats == 0) return;
        try {
            CL.clEnqueueReadBuffer(queue, b.mem(), true, b.offset() * Float.BYTES, (long) floats * Float.BYTES,
                    Pointer.to(dst).withByteOffset((long) dstOffset * Float.BYTES), 0, null, null);
        } catch (CLException e) {
            throw ClError.of("clEnqueueReadBuffer(" + op + ")", e);
        }
        // A blocking read on an in-order queue returns after all earlier commands: staged uploads are done.
        staging.retire();
    }

    @Override
    protected void doCopy(ClBuffer s, ClBuffer d) {
        if (s.size() == 0) return;
        try {
            CL.clEnqueueCopyBuffer(queue, s.mem(), d.mem(), s.offset() * Float.BYTES, d.offset() * Float.BYTES,
                    s.size() * Float.BYTES, 0, null, null);
        } catch (CLException e) {
            throw ClError.of("clEnqueueCopyBuffer(copy)", e);
        }
    }

    @Override
    public void synchronize() {
        if (closed) return;
        try {
            CL.clFinish(queue);
        } catch (CLException e) {
            throw ClError.of("clFinish", e);
        }
        staging.retire();
    }

    @Override public PoolStats poolStats() { return pool.stats(); }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            CL.clFinish(queue);
        } finally {
            staging.retire();
            pool.releaseAll();
            program.close();
            CL.clReleaseCommandQueue(queue);
            CL.clReleaseContext(context);
        }
    }

    @Override public String toString() { return "OpenClBackend[" + device.describe() + "]"; }
}
