package dev.jmoco.backend.cuda;

import dev.jmoco.backend.cuda.libraries.Cublas;
import dev.jmoco.backend.cuda.libraries.Cudnn;
import dev.jmoco.backend.cuda.libraries.CudaLibraryUnavailable;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.ConvShape;
import dev.jmoco.backend.PoolStats;
import dev.jmoco.backend.gpu.DeviceBuffer;
import dev.jmoco.backend.gpu.HostStaging;
import dev.jmoco.backend.gpu.InfoNceRows;
import dev.jmoco.backend.gpu.KernelBackend;
import dev.jmoco.backend.gpu.KernelRuntime;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The CUDA backend, through the driver API only: one device's primary context (retained once per JVM and
 * shared by every backend of the device, {@link CudaDevices#primaryContext}), one blocking stream
 * ({@link #STREAM_FLAGS}), and one module loaded from the fatbin of every {@code kernels/*.cl}
 * ({@link CudaKernels}). It implements {@link KernelRuntime}, and {@link KernelBackend}'s ops (argument checks,
 * then the op-family classes shared with OpenCL) turn each op into launches.
 * Ops only queue work: nothing waits for the device except {@link #download} and {@link #synchronize}.
 *
 * <p>Faster paths replace some shared kernels, chosen once at construction from {@link CudaOptions}:
 * cuBLAS for {@link #gemm} and cuDNN for the convolutions where the libraries load ({@link Cublas},
 * {@link Cudnn}; {@code cuda:kernels} turns them off), the hand-written TF32 GEMM when TF32 is allowed and
 * cuBLAS is not used, and InfoNCE as GEMM + one row kernel ({@link InfoNceRows}) instead of the one-pass
 * kernel ({@code cuda:portable} keeps only the kernels shared with OpenCL). {@link #paths()} says which run.
 *
 * <p>Not thread-safe (one training loop drives it); the context is made current on whichever thread calls.
 */
public final class CudaBackend extends KernelBackend<CudaBuffer> {
    private static final long MAX_STAGED_BYTES = 64L << 20;

    /**
     * cuStreamCreate's flags for the backend's stream: CU_STREAM_DEFAULT (0), a blocking stream, and it must stay
     * one. The synchronous copies, cuMemcpyHtoD in {@link #doUpload} and cuMemcpyDtoH in {@link #doDownload}, run
     * on the legacy default stream, which waits for the work already queued on the context's blocking streams
     * and which their later work waits for. That implicit synchronisation is all that orders those copies with
     * the ops queued on this stream: an upload cannot overwrite pooled memory a queued kernel still reads or
     * writes (a closed buffer's memory goes back to the pool at once), a kernel queued after an upload cannot
     * read its destination before the copy lands (from pageable memory cuMemcpyHtoD may return once the source
     * is staged, before the DMA to the device is done), and a download sees every queued op's result.
     * CU_STREAM_NON_BLOCKING takes the stream out of that synchronisation: all three become silent races (stale
     * or torn downloads, uploads under running kernels), with no error reported. A non-blocking stream would need
     * every copy moved onto the stream (cuMemcpyHtoDAsync from held host memory, as {@link #ints} does) with a
     * cuStreamSynchronize where the caller needs the copy finished.
     */
    static final int STREAM_FLAGS = CUstream_flags.CU_STREAM_DEFAULT;

    private final CudaDevice device;
    private final CudaOptions options;
    private final CUdevice cuDevice = new CUdevice();
    /** The device's primary context, retained once per JVM ({@link CudaDevices#primaryContext}), never released. */
    private final CUcontext context;
    private final CudaStream stream = new CudaStream();
    private final CUmodule module = new CUmodule();
    private final Map<String, CUfunction> functions = new HashMap<>();
    final CudaPool pool = new CudaPool();
    private final HostStaging staging = new HostStaging();
    private final long maxWorkGroupSize;
    private final long localMemBytes;
    private final List<String> paths = new ArrayList<>();
    private Cublas cublas;
    private Cudnn cudnn;
    private Tf32Gemm tf32Gemm;
    private InfoNceRows infoNceRows;
    private CudaProfile profile;
    private Thread boundThread;
    private boolean closed;

    /**
     * Opens {@code device} (from {@link CudaDevices#discover()}) and loads the kernels of this build. A library
     * that {@code options} allows but that cannot be used is reported once on standard error (one line, the reason) and its ops
     * fall back to the hand-written kernels.
     *
     * <p>When a step fails (a driver call, the module load, a library that fails other than by being unavailable),
     * what the constructor created so far is released, newest first, and the failure rethrown (a failing
     * release is added to it as suppressed); the primary context stays retained (see {@link #context}).
     *
     * @throws IllegalStateException naming the failing driver call, or saying this build has no CUDA kernels
     */
    public CudaBackend(CudaDevice device, CudaOptions options) {
        byte[] fatbin = CudaKernels.fatbin().orElseThrow(() -> new IllegalStateException(CudaKernels.NONE));
        this.device = device;
        this.options = options;
        JCudaDriver.setExceptionsEnabled(true);
        Undo undo = new Undo();
        try {
            String call = "cuInit";
            try {
                JCudaDriver.cuInit(0);
                call = "cuDeviceGet(" + device.ordinal() + ")";
                JCudaDriver.cuDeviceGet(cuDevice, device.ordinal());
                call = "cuDevicePrimaryCtxRetain";
                context = CudaDevices.primaryContext(device.ordinal());
                call = "cuCtxSetCurrent";
                JCudaDriver.cuCtxSetCurrent(context);
                boundThread = Thread.currentThread();
                call = "cuStreamCreate";
                JCudaDriver.cuStreamCreate(stream, STREAM_FLAGS); // blocking: STREAM_FLAGS says why it must be
                undo.add(() -> JCudaDriver.cuStreamDestroy(stream));
                // The fatbin holds sm_80 and sm_90 cubins and compute_80 PTX; the driver picks the cubin of this
                // GPU (JCuda's own PTX JIT is 12.0 and never sees nvcc 13's PTX: CONTRIBUTING.md, Known hazards).
                call = "cuModuleLoadDataEx(" + fatbin.length + "-byte fatbin)";
                JCudaDriver.cuModuleLoadDataEx(module, Pointer.to(fatbin), 0, new int[0], Pointer.to(new int[0]));
                undo.add(() -> JCudaDriver.cuModuleUnload(module));
                call = "cuDeviceGetAttribute";
                maxWorkGroupSize = CudaDevices.attribute(cuDevice,
                        CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
                localMemBytes = CudaDevices.attribute(cuDevice,
                        CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK);
            } catch (CudaException e) {
                throw CudaError.of(call, e);
            }
            // Device memory and held host copies the later steps may take, then cuBLAS before cuDNN (openPaths'
            // order; each is closed only if it opened), so they are undone cuDNN, cuBLAS, memory.
            undo.add(() -> {
                staging.retire();
                pool.releaseAll();
            });
            undo.add(() -> { if (cublas != null) cublas.close(); });
            undo.add(() -> { if (cudnn != null) cudnn.close(); });
            initKernels();
            openPaths();
            if (options.profile()) {
                profile = new CudaProfile(stream);
                undo.add(profile::close);
            }
        } catch (RuntimeException | Error e) {
            undo.run(e);
            throw e;
        }
    }

    /** Picks the paths {@link #options} allow and this machine has; see the class comment. */
    private void openPaths() {
        String noCublas = "", noCudnn = "";
        if (options.usesLibraries()) {
            try {
                cublas = Cublas.open(stream.handle(), options.tf32());
                paths.add("gemm: " + cublas.describe());
            } catch (CudaLibraryUnavailable e) {
                warn(e.getMessage() + "; gemm runs on this project's kernels");
                noCublas = "; " + e.getMessage();
            }
            try {
                cudnn = Cudnn.open(stream.handle(), options.tf32());
                paths.add("conv: " + cudnn.describe());
            } catch (CudaLibraryUnavailable e) {
                warn(e.getMessage() + "; convolutions run on this project's kernels");
                noCudnn = "; " + e.getMessage();
            }
        }
        if (options.usesTf32Kernel(cublas != null)) {
            tf32Gemm = new Tf32Gemm(this);
            paths.add("gemm: kernels/cuda/gemm_tf32.cu (TF32 tensor cores)" + noCublas);
        } else if (cublas == null) {
            paths.add("gemm: kernels/gemm.cl (shared with OpenCL)" + noCublas);
        }
        if (cudnn == null) paths.add("conv: kernels/conv.cl (shared with OpenCL)" + noCudnn);
        if (options.usesInfoNceRows()) {
            infoNceRows = new InfoNceRows(this);
            paths.add("infoNce: GEMM + infonce_rows (warp-shuffle reductions) + GEMM");
        } else {
            paths.add("infoNce: infonce_partial + infonce_combine (one pass, shared with OpenCL)");
        }
    }

    /** Runs {@code work} (which queues work on the stream), timed as {@code name} when profiling. */
    void timed(String name, Runnable work) {
        if (profile == null) work.run();
        else profile.time(name, work);
    }

    /** Whether GPU time is recorded per kernel and library call ({@code cuda:profile}). */
    public boolean profiling() { return profile != null; }

    /**
     * GPU time per kernel and library call since the last {@link #resetProfile}, most first, divided by
     * {@code count} {@code unit}s (e.g. 20 "step"s); waits for the recorded work.
     *
     * @throws IllegalStateException unless the backend was opened with {@code cuda:profile}
     */
    public String profile(String unit, long count) {
        if (profile == null) throw new IllegalStateException("profile: open the backend as cuda:profile");
        open("profile");
        return profile.report(unit, count);
    }

    /** Forgets the times recorded so far (set-up, warm-up); a no-op unless profiling. */
    public void resetProfile() {
        if (profile == null) return;
        open("resetProfile");
        profile.reset();
    }

    /** One line on standard error: a library was asked for (the default) but cannot be used here. */
    private static void warn(String message) { System.err.println("jmoco: cuda: " + message); }

    /** Which implementation runs each op family that has more than one, with the reason where one is missing. */
    public List<String> paths() { return List.copyOf(paths); }

    /** The options this backend was opened with. */
    public CudaOptions options() { return options; }

    @Override public String name() { return "cuda"; }

    // ---- ops with faster paths than the shared kernels ----------------------------------------------------

    @Override
    protected void doGemm(boolean transA, boolean transB, int m, int n, int k,
                          float alpha, CudaBuffer a, CudaBuffer b, float beta, CudaBuffer c) {
        gemmOnDevice(transA, transB, m, n, k, alpha, a, b, beta, c);
    }

    /** GEMM on the fastest path open here; also InfoNceRows' GEMM, on its scratch buffers. */
    private void gemmOnDevice(boolean transA, boolean transB, int m, int n, int k,
                              float alpha, DeviceBuffer a, DeviceBuffer b, float beta, DeviceBuffer c) {
        if (m == 0 || n == 0) return;
        if (cublas != null && k > 0) {
            open("gemm");
            timed("cuBLAS sgemm", () -> cublas.gemm(transA, transB, m, n, k, alpha, address(a), address(b), beta,
                    address(c)));
        } else if (tf32Gemm != null && k > 0) {
            tf32Gemm.gemm(transA, transB, m, n, k, alpha, a, b, beta, c);
        } else {
            gemm.gemm(transA, transB, m, n, k, alpha, a, b, beta, c);
        }
    }

    @Override
    protected void doConv2d(ConvShape s, CudaBuffer x, CudaBuffer w, CudaBuffer y) {
        if (cudnn == null) { super.doConv2d(s, x, w, y); return; }
        withWorkspace("cuDNN conv forward", ws -> cudnn.forward(s, x.address(), w.address(), y.address(), ws));
    }

    @Override
    protected void doConv2dBackwardData(ConvShape s, CudaBuffer dy, CudaBuffer w, CudaBuffer dx) {
        if (cudnn == null) { super.doConv2dBackwardData(s, dy, w, dx); return; }
        withWorkspace("cuDNN conv backward data",
                ws -> cudnn.backwardData(s, dy.address(), w.address(), dx.address(), ws));
    }

    @Override
    protected void doConv2dBackwardFilter(ConvShape s, CudaBuffer x, CudaBuffer dy, CudaBuffer dw) {
        if (cudnn == null) { super.doConv2dBackwardFilter(s, x, dy, dw); return; }
        withWorkspace("cuDNN conv backward filter",
                ws -> cudnn.backwardFilter(s, x.address(), dy.address(), dw.address(), ws));
    }

    @Override
    protected void doInfoNce(int n, int c, int kq, float t, CudaBuffer q, CudaBuffer k, CudaBuffer queue,
                             float gradScale, CudaBuffer stats, CudaBuffer dq, CudaBuffer dk) {
        if (infoNceRows == null || !InfoNceRows.fits(n, kq)) super.doInfoNce(n, c, kq, t, q, k, queue, gradScale,
                stats, dq, dk);
        else infoNceRows.run(n, c, kq, t, q, k, queue, gradScale, stats, dq, dk, this::gemmOnDevice);
    }

    private static long address(DeviceBuffer b) { return ((CudaBuffer) b).address(); }

    /**
     * Runs a cuDNN call (timed as {@code name} when profiling) with pooled scratch as its workspace, returned
     * to the pool when the call has been queued (safe on one stream: whatever next uses the memory runs after
     * the convolution).
     */
    private void withWorkspace(String name, java.util.function.Consumer<Cudnn.Workspace> call) {
        open("conv");
        List<CudaBuffer> held = new ArrayList<>(1);
        Cudnn.Workspace workspace = bytes -> {
            if (bytes == 0) return 0;
            CudaBuffer b = scratch((bytes + Float.BYTES - 1) / Float.BYTES);
            held.add(b);
            return b.address();
        };
        try {
            timed(name, () -> call.accept(workspace));
        } finally {
            for (CudaBuffer b : held) b.close();
        }
    }

    /** The device this backend runs on. */
    public CudaDevice device() { return device; }

    /**
     * The raw CUstream that every op is queued on (and cuBLAS/cuDNN are bound to), for a library bound through
     * the foreign function API that must queue on it too (NCCL), so its work is ordered with the ops'.
     */
    public long streamHandle() { return stream.handle(); }

    /**
     * The raw device address of {@code b}'s first float (its offset included), for such a library.
     *
     * @throws IllegalArgumentException for a buffer of another backend, naming it
     */
    public long deviceAddress(Buffer b) { return own("deviceAddress", b).address(); }

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
     * the work queued on this (blocking, {@link #STREAM_FLAGS}) stream and which later work waits for, and
     * returns once {@code src} has been read, so the caller may reuse it (Backend's contract: copied at call
     * time).
     */
    @Override
    protected void doUpload(float[] src, int srcOffset, CudaBuffer d) {
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
    protected void doDownload(CudaBuffer s, float[] dst, int dstOffset) {
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
    protected void doCopy(CudaBuffer s, CudaBuffer d) {
        if (s.size() == 0) return;
        open("copy");
        try {
            timed("memcpy device to device", () ->
                    JCudaDriver.cuMemcpyDtoDAsync(d.start(), s.start(), s.size() * Float.BYTES, stream));
        } catch (CudaException e) {
            throw CudaError.of("cuMemcpyDtoDAsync(copy)", e);
        }
    }

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
            if (profile != null) profile.close();
            if (cublas != null) cublas.close();
            if (cudnn != null) cudnn.close();
            staging.retire();
            pool.releaseAll();
            JCudaDriver.cuModuleUnload(module);
            JCudaDriver.cuStreamDestroy(stream);
            // The primary context is not released: it stays retained for the JVM (CudaDevices#primaryContext).
        }
    }

    @Override
    public String toString() {
        return "CudaBackend[" + device.describe() + (options.text().isEmpty() ? "" : ", " + options.text()) + "]";
    }
}
