package dev.jmoco.backend.cuda;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.OpChecks;
import dev.jmoco.backend.PoolStats;
import dev.jmoco.backend.kernel.KernelBackend;
import dev.jmoco.backend.kernel.HostStaging;
import dev.jmoco.backend.kernel.KernelRuntime;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * The CUDA backend, through the driver API only: one device's primary context, one stream, and one module
 * loaded from the fatbin of every {@code kernels/*.cl} ({@link CudaKernels}). It implements
 * {@link KernelRuntime}, and {@link KernelBackend}'s ops (argument checks, then the op-family classes shared
 * with OpenCL) turn each op into launches.
 * Ops only queue work: nothing waits for the device except {@link #download} and {@link #synchronize}.
 *
 * <p>Library fast paths (cuBLAS for gemm, cuDNN for convolution) are not wired yet: they plug in as
 * overrides of {@link #gemm} and {@link #conv2d} and friends, in front of the shared kernels, each behind a check that
 * {@link CudaLibraries} found the library.
 *
 * <p>Not thread-safe (one training loop drives it); the context is made current on whichever thread calls.
 */
public final class CudaBackend extends KernelBackend {
    private static final long MAX_STAGED_BYTES = 64L << 20;

    private final CudaDevice device;
    private final CUdevice cuDevice = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final CUstream stream = new CUstream();
    private final CUmodule module = new CUmodule();
    private final Map<String, CUfunction> functions = new HashMap<>();
    final CudaPool pool = new CudaPool();
    private final HostStaging staging = new HostStaging();
    private final long maxWorkGroupSize;
    private final long localMemBytes;
    private Thread boundThread;
    private boolean closed;

    /**
     * Opens {@code device} (from {@link CudaDevices#discover()}) and loads the kernels of this build.
     *
     * @throws IllegalStateException naming the failing driver call, or saying this build has no CUDA kernels
     */
    public CudaBackend(CudaDevice device) {
        byte[] fatbin = CudaKernels.fatbin().orElseThrow(() -> new IllegalStateException(CudaKernels.NONE));
        this.device = device;
        JCudaDriver.setExceptionsEnabled(true);
        String call = "cuInit";
        boolean retained = false;
        try {
            JCudaDriver.cuInit(0);
            call = "cuDeviceGet(" + device.ordinal() + ")";
            JCudaDriver.cuDeviceGet(cuDevice, device.ordinal());
            call = "cuDevicePrimaryCtxRetain";
            JCudaDriver.cuDevicePrimaryCtxRetain(context, cuDevice);
            retained = true;
            call = "cuCtxSetCurrent";
            JCudaDriver.cuCtxSetCurrent(context);
            boundThread = Thread.currentThread();
            call = "cuStreamCreate";
            JCudaDriver.cuStreamCreate(stream, 0);
            // The fatbin holds sm_80 and sm_90 cubins and compute_80 PTX; the driver picks the cubin of this GPU
            // (JCuda's own PTX JIT is 12.0 and never sees nvcc 13's PTX: DESIGN.md, Known hazards).
            call = "cuModuleLoadDataEx(" + fatbin.length + "-byte fatbin)";
            JCudaDriver.cuModuleLoadDataEx(module, Pointer.to(fatbin), 0, new int[0], Pointer.to(new int[0]));
            call = "cuDeviceGetAttribute";
            maxWorkGroupSize = CudaDevices.attribute(cuDevice,
                    CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
            localMemBytes = CudaDevices.attribute(cuDevice,
                    CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK);
        } catch (CudaException e) {
            if (retained) JCudaDriver.cuDevicePrimaryCtxRelease(cuDevice);
            throw CudaError.of(call, e);
        }
        initKernels();
    }

    @Override public String name() { return "cuda"; }

    /** The device this backend runs on. */
    public CudaDevice device() { return device; }

    /** Makes the context current on the calling thread (a CUDA context is per thread; the cost is a compare). */
    private void bind() {
        Thread t = Thread.currentThread();
        if (t == boundThread) return;
        try {
            JCudaDriver.cuCtxSetCurrent(context);
        } catch (CudaException e) {
            throw CudaError.of("cuCtxSetCurrent", e);
        }
        boundThread = t;
    }

    private void open(String op) {
        if (closed) throw new IllegalStateException(op + ": " + name() + " backend is closed");
        bind();
    }

    // ---- KernelRuntime ------------------------------------------------------------------------------------

    @Override
    public CudaLaunch launch(String kernelName) {
        open(kernelName);
        return new CudaLaunch(this, function(kernelName), stream, kernelName);
    }

    /** The kernel {@code name} of the module, looked up once. */
    private CUfunction function(String name) {
        CUfunction f = functions.get(name);
        if (f != null) return f;
        f = new CUfunction();
        try {
            JCudaDriver.cuModuleGetFunction(f, module, name);
        } catch (CudaException e) {
            throw CudaError.of("cuModuleGetFunction(" + name + ")", e);
        }
        functions.put(name, f);
        return f;
    }

    @Override public CudaBuffer scratch(long floats) { return (CudaBuffer) allocate(floats); }

    /** Queues the upload without waiting: its host copy is held until the stream has been waited on. */
    @Override
    public CudaBuffer ints(int[] values) {
        // Bounds the host memory held between waits (an index-heavy loop that never synchronizes).
        if (staging.heldBytes() > MAX_STAGED_BYTES) synchronize();
        CudaBuffer b = scratch(values.length);
        if (values.length == 0) return b;
        ByteBuffer host = staging.hold(values);
        try {
            JCudaDriver.cuMemcpyHtoDAsync(b.root(), Pointer.to(host), (long) values.length * Integer.BYTES, stream);
        } catch (CudaException e) {
            b.close();
            throw CudaError.of("cuMemcpyHtoDAsync(ints)", e);
        }
        return b;
    }

    @Override public long maxWorkGroupSize() { return maxWorkGroupSize; }

    @Override public long localMemBytes() { return localMemBytes; }

    @Override public int computeUnits() { return device.multiprocessors(); }

    /** {@code b} as this backend's buffer: device pointers of another context must never reach the driver. */
    @Override
    public CudaBuffer own(String op, Buffer b) {
        if (!(b instanceof CudaBuffer c))
            throw new IllegalArgumentException(op + ": buffer " + b + " of backend "
                    + (b == null ? "null" : b.backend().name()) + " passed to a CUDA backend");
        if (c.backend() != this)
            throw new IllegalArgumentException(op + ": buffer " + b + " belongs to another CUDA backend");
        if (closed) throw new IllegalStateException(op + ": " + name() + " backend is closed");
        return c;
    }

    // ---- memory -------------------------------------------------------------------------------------------

    @Override
    public Buffer allocate(long size) {
        if (size < 0) throw new IllegalArgumentException(name() + ": cannot allocate " + size + " floats");
        open("allocate");
        return new CudaBuffer(this, pool.acquire(size * Float.BYTES), 0, size, true);
    }

    /**
     * Synchronous copy from the Java array: cuMemcpyHtoD runs on the legacy default stream, which waits for
     * the work queued on this (blocking) stream and which later work waits for, and returns once {@code src}
     * has been read, so the caller may reuse it (Backend's contract: copied at call time).
     */
    @Override
    public void upload(float[] src, int srcOffset, Buffer dst) {
        OpChecks.upload(src, srcOffset, dst);
        CudaBuffer d = own("upload", dst);
        if (d.size() == 0) return;
        open("upload");
        try {
            JCudaDriver.cuMemcpyHtoD(d.start(), Pointer.to(src).withByteOffset((long) srcOffset * Float.BYTES),
                    d.size() * Float.BYTES);
        } catch (CudaException e) {
            throw CudaError.of("cuMemcpyHtoD(upload)", e);
        }
    }

    /** Synchronous: on the legacy default stream it runs after all queued work and returns when done. */
    @Override
    public void download(Buffer src, float[] dst, int dstOffset) {
        OpChecks.download(src, dst, dstOffset);
        CudaBuffer s = own("download", src);
        if (s.size() == 0) return;
        open("download");
        try {
            JCudaDriver.cuMemcpyDtoH(Pointer.to(dst).withByteOffset((long) dstOffset * Float.BYTES), s.start(),
                    s.size() * Float.BYTES);
        } catch (CudaException e) {
            throw CudaError.of("cuMemcpyDtoH(download)", e);
        }
        staging.retire();
    }

    @Override
    public void copy(Buffer src, Buffer dst) {
        OpChecks.copy(src, dst);
        CudaBuffer s = own("copy", src), d = own("copy", dst);
        if (s.size() == 0) return;
        open("copy");
        try {
            JCudaDriver.cuMemcpyDtoDAsync(d.start(), s.start(), s.size() * Float.BYTES, stream);
        } catch (CudaException e) {
            throw CudaError.of("cuMemcpyDtoDAsync(copy)", e);
        }
    }

    @Override public void fill(Buffer dst, float value) { elementwise.fill(own("fill", dst), value); }

    @Override
    public void synchronize() {
        if (closed) return;
        bind();
        try {
            JCudaDriver.cuStreamSynchronize(stream);
        } catch (CudaException e) {
            throw CudaError.of("cuStreamSynchronize", e);
        }
        staging.retire();
    }

    @Override public PoolStats poolStats() { return pool.stats(); }

    @Override
    public void close() {
        if (closed) return;
        bind();
        closed = true;
        try {
            JCudaDriver.cuStreamSynchronize(stream);
        } finally {
            staging.retire();
            pool.releaseAll();
            JCudaDriver.cuModuleUnload(module);
            JCudaDriver.cuStreamDestroy(stream);
            JCudaDriver.cuDevicePrimaryCtxRelease(cuDevice);
        }
    }

    @Override public String toString() { return "CudaBackend[" + device.describe() + "]"; }
}
