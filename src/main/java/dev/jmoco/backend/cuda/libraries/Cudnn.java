package dev.jmoco.backend.cuda.libraries;

import dev.jmoco.backend.ConvShape;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.HashMap;
import java.util.Map;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * A cuDNN 9 handle bound to the backend's stream, running the three convolution passes of
 * {@link dev.jmoco.backend.Backend} (NCHW float, no bias) on raw device addresses through the legacy
 * convolution API. Descriptors and algorithm choices are cached per shape ({@link CudnnConv}). cuDNN uses the
 * CUDA context current on the calling thread (the backend's primary context).
 *
 * <p>Call order: {@link #open}, any number of passes, {@link #close}. Not thread-safe (one training loop).
 */
public final class Cudnn implements AutoCloseable {
    public static final String SONAME = "libcudnn.so.9";
    /** cudnnGetVersion() of cuDNN 9.0.0. */
    static final long MIN_VERSION = 90000;

    /**
     * Device scratch for cuDNN: an address of at least {@code bytes} bytes, valid until the next call (one
     * stream); may return 0 for 0 bytes.
     */
    public interface Workspace { long address(long bytes); }

    private final CudnnFunctions f;
    private final MemorySegment handle;
    private final boolean tf32;
    private final Arena arena = Arena.ofShared();
    /** Host floats 1 and 0: alpha and beta of float convolutions are host pointers to float. */
    private final MemorySegment one = arena.allocateFrom(JAVA_FLOAT, 1f), zero = arena.allocateFrom(JAVA_FLOAT, 0f);
    private final Map<ConvShape, CudnnConv> convs = new HashMap<>();
    private boolean closed;

    private Cudnn(CudnnFunctions f, MemorySegment handle, boolean tf32) {
        this.f = f;
        this.handle = handle;
        this.tf32 = tf32;
    }

    /**
     * Loads {@link #SONAME}, checks it is cuDNN 9 or later, creates a handle on the current context bound to
     * {@code stream} (a raw CUstream). TF32 decides the convolutions' math type (see {@link CudnnConv}).
     *
     * @throws CudaLibraryUnavailable naming the missing library or symbol, the version, or the failing call
     */
    public static Cudnn open(long stream, boolean tf32) {
        CudnnFunctions f = CudnnFunctions.bind(SONAME);
        long version = f.version();
        if (version < MIN_VERSION)
            throw f.library.unavailable(SONAME + " reports version " + version + " (cudnnGetVersion), need "
                    + MIN_VERSION + " or later");
        MemorySegment handle = f.library.createHandle(f.create, "cudnnCreate", f::statusText);
        try {
            int status = (int) f.setStream.invokeExact(handle, MemorySegment.ofAddress(stream));
            if (status == CudnnFunctions.SUCCESS) return new Cudnn(f, handle, tf32);
            int ignored = (int) f.destroy.invokeExact(handle); // the stream failure is what to report
            throw f.library.unavailable("cudnnSetStream failed: " + f.statusText(status));
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    /** y = conv(x, w) (alpha 1, beta 0: y is not read). */
    public void forward(ConvShape s, long x, long w, long y, Workspace ws) {
        run(CudnnPass.FORWARD, s, x, w, y, zero, ws);
    }

    /** dx += gradient with respect to the input (alpha 1, beta 1). */
    public void backwardData(ConvShape s, long dy, long w, long dx, Workspace ws) {
        run(CudnnPass.BACKWARD_DATA, s, w, dy, dx, one, ws);
    }

    /** dw += gradient with respect to the filter (alpha 1, beta 1). */
    public void backwardFilter(ConvShape s, long x, long dy, long dw, Workspace ws) {
        run(CudnnPass.BACKWARD_FILTER, s, x, dy, dw, one, ws);
    }

    /**
     * Queues {@code pass} with its operands in cuDNN's order ({@link CudnnPass}); an algorithm that refuses
     * these arguments gives way to the next candidate, once per shape and pass, said on standard error.
     */
    private void run(CudnnPass pass, ConvShape s, long in1, long in2, long out, MemorySegment beta, Workspace ws) {
        if (closed) throw new IllegalStateException("cuDNN: " + pass.runFunction() + " after close");
        CudnnConv conv = convs.get(s);
        if (conv == null) convs.put(s, conv = new CudnnConv(f, s, tf32));
        MethodHandle call = f.pass(pass).run();
        while (true) {
            CudnnConv.Algorithm a = conv.current(handle, pass);
            conv.setMathType(a.mathType());
            long workspace = a.workspaceBytes() == 0 ? 0 : ws.address(a.workspaceBytes());
            int status;
            try {
                status = (int) call.invokeExact(handle, one,
                        conv.descriptor(pass, 0), MemorySegment.ofAddress(in1),
                        conv.descriptor(pass, 1), MemorySegment.ofAddress(in2),
                        conv.convolution(), a.algo(), MemorySegment.ofAddress(workspace), a.workspaceBytes(),
                        beta, conv.descriptor(pass, 2), MemorySegment.ofAddress(out));
            } catch (Throwable t) {
                throw NativeCalls.rethrow(t);
            }
            if (status == CudnnFunctions.SUCCESS) return;
            String failure = pass.runFunction() + " with algo " + a.algo() + " (math type " + a.mathType()
                    + ", workspace " + a.workspaceBytes() + " bytes) for " + s + " failed: " + f.statusText(status);
            if (!CudnnFunctions.tryAnother(status)) throw new IllegalStateException(failure);
            System.err.println("jmoco: cuda: " + failure + "; trying the next algorithm");
            conv.reject(pass, failure);
        }
    }

    /** "cuDNN 9.10.2 (libcudnn.so.9), TF32 off". */
    public String describe() {
        return "cuDNN " + CudnnFunctions.versionText(f.version()) + " (" + f.library.soname() + "), TF32 "
                + (tf32 ? "on" : "off");
    }

    /** Destroys the cached descriptors, then the handle (the context must still exist); idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        convs.values().forEach(CudnnConv::close);
        convs.clear();
        arena.close();
        int status;
        try {
            status = (int) f.destroy.invokeExact(handle);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
        f.check("cudnnDestroy", status);
    }
}
