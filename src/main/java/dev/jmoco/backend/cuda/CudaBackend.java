package dev.jmoco.backend.cuda;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.BatchNormShape;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.ConvShape;
import dev.jmoco.backend.OpChecks;
import dev.jmoco.backend.PoolShape;
import dev.jmoco.backend.PoolStats;
import dev.jmoco.backend.kernel.BatchNormKernels;
import dev.jmoco.backend.kernel.ConvKernels;
import dev.jmoco.backend.kernel.ElementwiseKernels;
import dev.jmoco.backend.kernel.GemmKernels;
import dev.jmoco.backend.kernel.KernelRuntime;
import dev.jmoco.backend.kernel.LossKernels;
import dev.jmoco.backend.kernel.PoolingKernels;
import dev.jmoco.backend.kernel.RowsKernels;
import dev.jmoco.backend.kernel.UpdateKernels;
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
 * {@link KernelRuntime}, so the op-family classes of {@code dev.jmoco.backend.kernel} (shared with OpenCL)
 * turn each op into launches; this class checks arguments ({@link OpChecks}), unwraps buffers and delegates.
 * Ops only queue work: nothing waits for the device except {@link #download} and {@link #synchronize}.
 *
 * <p>Library fast paths (cuBLAS for gemm, cuDNN for convolution) are not wired yet: they plug in at
 * {@link #gemm} and {@link #conv2d} and friends, in front of the shared kernels, each behind a check that
 * {@link CudaLibraries} found the library.
 *
 * <p>Not thread-safe (one training loop drives it); the context is made current on whichever thread calls.
 */
public final class CudaBackend implements Backend, KernelRuntime {
    private static final long MAX_STAGED_BYTES = 64L << 20;

    private final CudaDevice device;
    private final CUdevice cuDevice = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final CUstream stream = new CUstream();
    private final CUmodule module = new CUmodule();
    private final Map<String, CUfunction> functions = new HashMap<>();
    final CudaPool pool = new CudaPool();
    private final CudaStaging staging = new CudaStaging();
    private final long maxWorkGroupSize;
    private final long localMemBytes;
    private final ElementwiseKernels elementwise;
    private final UpdateKernels updates;
    private final GemmKernels gemm;
    private final ConvKernels conv;
    private final BatchNormKernels batchNorm;
    private final PoolingKernels pooling;
    private final RowsKernels rows;
    private final LossKernels losses;
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
        elementwise = new ElementwiseKernels(this);
        updates = new UpdateKernels(this);
        gemm = new GemmKernels(this);
        conv = new ConvKernels(this, gemm);
        batchNorm = new BatchNormKernels(this);
        pooling = new PoolingKernels(this);
        rows = new RowsKernels(this);
        losses = new LossKernels(this, gemm);
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

    // ---- dense algebra (a cuBLAS gemm plugs in here, later) --------------------------------------------------

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k,
                     float alpha, Buffer a, Buffer b, float beta, Buffer c) {
        OpChecks.gemm(transA, transB, m, n, k, a, b, c);
        gemm.gemm(transA, transB, m, n, k, alpha, own("gemm", a), own("gemm", b), beta, own("gemm", c));
    }

    @Override
    public void add(float alpha, Buffer x, float beta, Buffer y, Buffer out) {
        OpChecks.add(x, y, out);
        elementwise.add(alpha, own("add", x), beta, own("add", y), own("add", out));
    }

    @Override
    public void addBias(int rows, int cols, Buffer bias, Buffer y) {
        OpChecks.addBias(rows, cols, bias, y);
        elementwise.addBias(rows, cols, own("addBias", bias), own("addBias", y));
    }

    @Override
    public void biasBackward(int rows, int cols, Buffer dy, Buffer dbias) {
        OpChecks.biasBackward(rows, cols, dy, dbias);
        elementwise.biasBackward(rows, cols, own("biasBackward", dy), own("biasBackward", dbias));
    }

    @Override
    public void relu(Buffer x, Buffer y) {
        OpChecks.relu(x, y);
        elementwise.relu(own("relu", x), own("relu", y));
    }

    @Override
    public void reluBackward(Buffer y, Buffer dy, Buffer dx) {
        OpChecks.reluBackward(y, dy, dx);
        elementwise.reluBackward(own("reluBackward", y), own("reluBackward", dy), own("reluBackward", dx));
    }

    // ---- convolution and pooling (cuDNN convolutions plug in here, later) ------------------------------------

    @Override
    public void conv2d(ConvShape s, Buffer x, Buffer w, Buffer y) {
        OpChecks.conv2d(s, x, w, y);
        conv.forward(s, own("conv2d", x), own("conv2d", w), own("conv2d", y));
    }

    @Override
    public void conv2dBackwardData(ConvShape s, Buffer dy, Buffer w, Buffer dx) {
        String op = "conv2dBackwardData";
        OpChecks.conv2dBackwardData(s, dy, w, dx);
        conv.backwardData(s, own(op, dy), own(op, w), own(op, dx));
    }

    @Override
    public void conv2dBackwardFilter(ConvShape s, Buffer x, Buffer dy, Buffer dw) {
        String op = "conv2dBackwardFilter";
        OpChecks.conv2dBackwardFilter(s, x, dy, dw);
        conv.backwardFilter(s, own(op, x), own(op, dy), own(op, dw));
    }

    @Override
    public void maxPool(PoolShape s, Buffer x, Buffer y, Buffer argmax) {
        OpChecks.maxPool(s, x, y, argmax);
        pooling.maxPool(s, own("maxPool", x), own("maxPool", y), own("maxPool", argmax));
    }

    @Override
    public void maxPoolBackward(PoolShape s, Buffer dy, Buffer argmax, Buffer dx) {
        String op = "maxPoolBackward";
        OpChecks.maxPoolBackward(s, dy, argmax, dx);
        pooling.maxPoolBackward(s, own(op, dy), own(op, argmax), own(op, dx));
    }

    @Override
    public void globalAvgPool(int n, int c, int hw, Buffer x, Buffer y) {
        OpChecks.globalAvgPool(n, c, hw, x, y);
        pooling.globalAvgPool(n, c, hw, own("globalAvgPool", x), own("globalAvgPool", y));
    }

    @Override
    public void globalAvgPoolBackward(int n, int c, int hw, Buffer dy, Buffer dx) {
        String op = "globalAvgPoolBackward";
        OpChecks.globalAvgPoolBackward(n, c, hw, dy, dx);
        pooling.globalAvgPoolBackward(n, c, hw, own(op, dy), own(op, dx));
    }

    // ---- normalisation ------------------------------------------------------------------------------------

    @Override
    public void batchNormTrain(BatchNormShape s, Buffer x, Buffer gamma, Buffer beta, Buffer y,
                               Buffer mean, Buffer invStd, Buffer runningMean, Buffer runningVar,
                               float momentum, float eps) {
        String op = "batchNormTrain";
        OpChecks.batchNormTrain(s, x, gamma, beta, y, mean, invStd, runningMean, runningVar);
        batchNorm.train(s, own(op, x), own(op, gamma), own(op, beta), own(op, y), own(op, mean), own(op, invStd),
                own(op, runningMean), own(op, runningVar), momentum, eps);
    }

    @Override
    public void batchNormEval(BatchNormShape s, Buffer x, Buffer gamma, Buffer beta,
                              Buffer runningMean, Buffer runningVar, float eps, Buffer y) {
        String op = "batchNormEval";
        OpChecks.batchNormEval(s, x, gamma, beta, runningMean, runningVar, y);
        batchNorm.eval(s, own(op, x), own(op, gamma), own(op, beta), own(op, runningMean), own(op, runningVar), eps,
                own(op, y));
    }

    @Override
    public void batchNormBackward(BatchNormShape s, Buffer x, Buffer dy, Buffer gamma, Buffer mean, Buffer invStd,
                                  Buffer dx, Buffer dgamma, Buffer dbeta) {
        String op = "batchNormBackward";
        OpChecks.batchNormBackward(s, x, dy, gamma, mean, invStd, dx, dgamma, dbeta);
        batchNorm.backward(s, own(op, x), own(op, dy), own(op, gamma), own(op, mean), own(op, invStd), own(op, dx),
                own(op, dgamma), own(op, dbeta));
    }

    @Override
    public void l2NormalizeRows(int rows, int cols, Buffer x, Buffer y, Buffer norms) {
        String op = "l2NormalizeRows";
        OpChecks.l2NormalizeRows(rows, cols, x, y, norms);
        this.rows.l2Normalize(rows, cols, own(op, x), own(op, y), own(op, norms));
    }

    @Override
    public void l2NormalizeRowsBackward(int rows, int cols, Buffer y, Buffer norms, Buffer dy, Buffer dx) {
        String op = "l2NormalizeRowsBackward";
        OpChecks.l2NormalizeRowsBackward(rows, cols, y, norms, dy, dx);
        this.rows.l2NormalizeBackward(rows, cols, own(op, y), own(op, norms), own(op, dy), own(op, dx));
    }

    // ---- indexing -----------------------------------------------------------------------------------------

    @Override
    public void gatherRows(int cols, Buffer src, int[] index, Buffer dst) {
        OpChecks.gatherRows(cols, src, index, dst);
        rows.gather(cols, own("gatherRows", src), index, own("gatherRows", dst));
    }

    @Override
    public void scatterRows(int cols, Buffer src, int[] index, Buffer dst, boolean accumulate) {
        OpChecks.scatterRows(cols, src, index, dst);
        rows.scatter(cols, own("scatterRows", src), index, own("scatterRows", dst), accumulate);
    }

    // ---- fused losses -------------------------------------------------------------------------------------

    @Override
    public void softmaxCrossEntropy(int rows, int cols, Buffer logits, int[] labels, float gradScale,
                                    Buffer stats, Buffer dlogits) {
        String op = "softmaxCrossEntropy";
        OpChecks.softmaxCrossEntropy(rows, cols, logits, labels, stats, dlogits);
        losses.softmaxCrossEntropy(rows, cols, own(op, logits), labels, gradScale, own(op, stats), own(op, dlogits));
    }

    @Override
    public void infoNce(int n, int c, int kq, float t, Buffer q, Buffer k, Buffer queue, float gradScale,
                        Buffer stats, Buffer dq, Buffer dk) {
        String op = "infoNce";
        OpChecks.infoNce(n, c, kq, t, q, k, queue, stats, dq, dk);
        losses.infoNce(n, c, kq, t, own(op, q), own(op, k), own(op, queue), gradScale, own(op, stats), own(op, dq),
                dk == null ? null : own(op, dk));
    }

    // ---- MoCo state updates -------------------------------------------------------------------------------

    @Override
    public void ema(float m, Buffer target, Buffer source) {
        OpChecks.ema(target, source);
        updates.ema(m, own("ema", target), own("ema", source));
    }

    @Override
    public void enqueue(Buffer queue, int capacity, int c, Buffer keys, int n, int ptr) {
        OpChecks.enqueue(queue, capacity, c, keys, n, ptr);
        updates.enqueue(own("enqueue", queue), capacity, c, own("enqueue", keys), n, ptr);
    }

    @Override
    public void sgd(float lr, float momentum, float weightDecay, Buffer param, Buffer grad, Buffer velocity) {
        OpChecks.sgd(param, grad, velocity);
        updates.sgd(lr, momentum, weightDecay, own("sgd", param), own("sgd", grad), own("sgd", velocity));
    }
    /** Waits for queued work, then frees every buffer (pooled or still open), the module and the stream. */
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
