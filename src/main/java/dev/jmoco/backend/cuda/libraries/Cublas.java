package dev.jmoco.backend.cuda.libraries;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * A cuBLAS handle bound to the backend's stream, running {@link dev.jmoco.backend.Backend#gemm} on raw device
 * addresses through cublasSgemm_v2 ({@link CublasGemm} maps row-major to column-major). cuBLAS uses the CUDA
 * context current on the calling thread (the backend's primary context).
 *
 * <p>Call order: {@link #open}, any number of {@link #gemm}, {@link #close}. Not thread-safe (the scalars'
 * host memory is reused; the backend is driven by one thread).
 */
public final class Cublas implements AutoCloseable {
    /** Sonames looked for, newest first (CUDA 13, then 12). */
    public static final List<String> SONAMES = List.of("libcublas.so.13", "libcublas.so.12");

    private final CublasFunctions f;
    private final MemorySegment handle;
    private final boolean tf32;
    private final String version;
    private final Arena arena = Arena.ofShared();
    /** Host memory for alpha and beta: cuBLAS's default pointer mode reads them before the call returns. */
    private final MemorySegment alpha = arena.allocate(JAVA_FLOAT), beta = arena.allocate(JAVA_FLOAT);
    private boolean closed;

    private Cublas(CublasFunctions f, MemorySegment handle, boolean tf32, String version) {
        this.f = f;
        this.handle = handle;
        this.tf32 = tf32;
        this.version = version;
    }

    /**
     * Loads the first of {@link #SONAMES} found, creates a handle on the current context bound to
     * {@code stream} (a raw CUstream; 0 is the legacy default stream), with TF32 tensor-core math if
     * {@code tf32}, else plain FP32.
     *
     * @throws CudaLibraryUnavailable naming the missing library or symbol, or the failing call and status
     */
    public static Cublas open(long stream, boolean tf32) {
        CublasFunctions f = CublasFunctions.bind(SONAMES);
        MemorySegment handle = f.library.createHandle(f.create, "cublasCreate_v2", f::statusText);
        try {
            f.check("cublasSetStream_v2", (int) f.setStream.invokeExact(handle, MemorySegment.ofAddress(stream)));
            int math = tf32 ? CublasFunctions.TF32_TENSOR_OP_MATH : CublasFunctions.DEFAULT_MATH;
            f.check("cublasSetMathMode(" + math + ")", (int) f.setMathMode.invokeExact(handle, math));
            return new Cublas(f, handle, tf32, f.version());
        } catch (Throwable t) {
            destroyQuietly(f, handle);
            if (t instanceof IllegalStateException e) throw f.library.unavailable(e.getMessage());
            throw NativeCalls.rethrow(t);
        }
    }

    private static void destroyQuietly(CublasFunctions f, MemorySegment handle) {
        try {
            int ignored = (int) f.destroy.invokeExact(handle); // the failure being reported matters more
        } catch (Throwable ignored) {
            // as above
        }
    }

    /**
     * C = alpha op(A) op(B) + beta C with exactly {@link dev.jmoco.backend.Backend#gemm}'s semantics (row-major,
     * packed leading dimensions; with beta = 0, C is not read), on device addresses; queued on the stream.
     *
     * @throws IllegalStateException naming the call, its arguments and the cuBLAS status
     */
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, long b, float beta, long c) {
        if (closed) throw new IllegalStateException("cuBLAS: gemm after close");
        CublasGemm g = CublasGemm.of(transA, transB, m, n, k);
        this.alpha.set(JAVA_FLOAT, 0, alpha);
        this.beta.set(JAVA_FLOAT, 0, beta);
        int status;
        try {
            status = (int) f.sgemm.invokeExact(handle, g.transa(), g.transb(), g.m(), g.n(), g.k(),
                    this.alpha, MemorySegment.ofAddress(b), g.lda(), MemorySegment.ofAddress(a), g.ldb(),
                    this.beta, MemorySegment.ofAddress(c), g.ldc());
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
        if (status != CublasFunctions.SUCCESS)
            throw new IllegalStateException("cublasSgemm_v2 for gemm(transA " + transA + ", transB " + transB
                    + ", m " + m + ", n " + n + ", k " + k + ") as " + g + " failed: " + f.statusText(status));
    }

    /** "cuBLAS 13.0.2 (libcublas.so.13), TF32 off". */
    public String describe() {
        return "cuBLAS " + version + " (" + f.library.soname() + "), TF32 " + (tf32 ? "on" : "off");
    }

    /** Destroys the handle (the context must still exist and be current); idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        arena.close();
        int status;
        try {
            status = (int) f.destroy.invokeExact(handle);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
        f.check("cublasDestroy_v2", status);
    }
}
