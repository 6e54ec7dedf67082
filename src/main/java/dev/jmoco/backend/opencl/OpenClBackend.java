package dev.jmoco.backend.opencl;

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
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;

import java.nio.ByteBuffer;

/**
 * The OpenCL backend: one device, one context, one in-order command queue, and one program built once from
 * {@code kernels/jmoco.h} and every {@code kernels/*.cl}. This class checks arguments ({@link OpChecks}, shared
 * with the CPU backend), unwraps buffers and delegates to one class per op family of
 * {@link dev.jmoco.backend.kernel} (shared with the CUDA backend); those enqueue kernels through this backend's
 * {@link KernelRuntime} side ({@link #launch}, {@link #scratch}, {@link #ints}). Ops only enqueue: nothing waits
 * for the device except {@link #download}, {@link #readScalars} and {@link #synchronize}.
 *
 * <p>Not thread-safe: kernel arguments are set on shared cl_kernel objects, as one training loop does.
 */
public final class OpenClBackend implements Backend, KernelRuntime {
    private static final long MAX_STAGED_BYTES = 64L << 20;

    private final ClDevice device;
    private final cl_context context;
    private final cl_command_queue queue;
    private final ClProgram program;
    final ClPool pool;
    private final ClStaging staging = new ClStaging();
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
        elementwise = new ElementwiseKernels(this);
        updates = new UpdateKernels(this);
        gemm = new GemmKernels(this);
        conv = new ConvKernels(this, gemm);
        batchNorm = new BatchNormKernels(this);
        pooling = new PoolingKernels(this);
        rows = new RowsKernels(this);
        losses = new LossKernels(this, gemm);
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

    /** Blocking read of {@code dst.length} floats from the start of {@code b} (loss statistics). */
    void readScalars(ClBuffer b, float[] dst) { read("readScalars", b, dst, 0, dst.length); }

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
    public void upload(float[] src, int srcOffset, Buffer dst) {
        OpChecks.upload(src, srcOffset, dst);
        ClBuffer d = own("upload", dst);
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
    public void download(Buffer src, float[] dst, int dstOffset) {
        OpChecks.download(src, dst, dstOffset);
        ClBuffer s = own("download", src);
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
    public void copy(Buffer src, Buffer dst) {
        OpChecks.copy(src, dst);
        ClBuffer s = own("copy", src), d = own("copy", dst);
        if (s.size() == 0) return;
        try {
            CL.clEnqueueCopyBuffer(queue, s.mem(), d.mem(), s.offset() * Float.BYTES, d.offset() * Float.BYTES,
                    s.size() * Float.BYTES, 0, null, null);
        } catch (CLException e) {
            throw ClError.of("clEnqueueCopyBuffer(copy)", e);
        }
    }

    @Override public void fill(Buffer dst, float value) { elementwise.fill(own("fill", dst), value); }

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

    // ---- dense algebra ------------------------------------------------------------------------------------

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

    // ---- convolution and pooling --------------------------------------------------------------------------

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

    /** Waits for queued work, then releases every buffer (pooled or still open), the kernels and the context. */
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
