package dev.jmoco.backend.cuda.libraries;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.FunctionDescriptor.of;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The cuBLAS functions jmoco calls, bound once per loaded library (cublas_api.h of CUDA 12 and 13; the
 * {@code _v2} names are the exported symbols behind the cublas_v2.h macros). Handles, streams and matrices are
 * pointers (ADDRESS), enums and status codes are C ints. Binding every handle up front means a library
 * missing a symbol is refused at open, not at its first use.
 */
final class CublasFunctions {
    /** cublasStatus_t CUBLAS_STATUS_SUCCESS. */
    static final int SUCCESS = 0;
    /** cublasOperation_t. */
    static final int OP_N = 0, OP_T = 1;
    /** cublasMath_t: CUBLAS_DEFAULT_MATH (plain FP32 FMA) and CUBLAS_TF32_TENSOR_OP_MATH. */
    static final int DEFAULT_MATH = 0, TF32_TENSOR_OP_MATH = 3;
    /** libraryPropertyType (library_types.h): MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL. */
    private static final int MAJOR = 0, MINOR = 1, PATCH = 2;

    final NativeLibrary library;
    /** cublasStatus_t cublasCreate_v2(cublasHandle_t *handle). */
    final MethodHandle create;
    /** cublasStatus_t cublasDestroy_v2(cublasHandle_t handle). */
    final MethodHandle destroy;
    /** cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId). */
    final MethodHandle setStream;
    /** cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode). */
    final MethodHandle setMathMode;
    /**
     * cublasStatus_t cublasSgemm_v2(cublasHandle_t, cublasOperation_t transa, cublasOperation_t transb, int m,
     * int n, int k, const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta,
     * float *C, int ldc).
     */
    final MethodHandle sgemm;
    /** cublasStatus_t cublasGetProperty(libraryPropertyType type, int *value). */
    private final MethodHandle getProperty;
    /** const char *cublasGetStatusName(cublasStatus_t status): "CUBLAS_STATUS_NOT_INITIALIZED". */
    private final MethodHandle getStatusName;

    private CublasFunctions(NativeLibrary library) {
        this.library = library;
        create = library.function("cublasCreate_v2", of(JAVA_INT, ADDRESS));
        destroy = library.function("cublasDestroy_v2", of(JAVA_INT, ADDRESS));
        setStream = library.function("cublasSetStream_v2", of(JAVA_INT, ADDRESS, ADDRESS));
        setMathMode = library.function("cublasSetMathMode", of(JAVA_INT, ADDRESS, JAVA_INT));
        sgemm = library.function("cublasSgemm_v2", of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        getProperty = library.function("cublasGetProperty", of(JAVA_INT, JAVA_INT, ADDRESS));
        getStatusName = library.function("cublasGetStatusName", of(ADDRESS, JAVA_INT));
    }

    /**
     * Loads the first of {@code sonames} found and binds every function.
     *
     * @throws CudaLibraryUnavailable when none loads or a symbol is missing
     */
    static CublasFunctions bind(List<String> sonames) {
        return new CublasFunctions(NativeLibrary.load("cuBLAS", sonames));
    }

    /** "MAJOR.MINOR.PATCH" of the loaded library (cublasGetProperty; needs no GPU). */
    String version() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_INT);
            StringBuilder v = new StringBuilder();
            for (int type : new int[] {MAJOR, MINOR, PATCH}) {
                check("cublasGetProperty(" + type + ")", (int) getProperty.invokeExact(type, value));
                if (!v.isEmpty()) v.append('.');
                v.append(value.get(JAVA_INT, 0));
            }
            return v.toString();
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    /** "CUBLAS_STATUS_NAME (code)", for messages. */
    String statusText(int status) {
        return NativeLibrary.statusText(getStatusName, status);
    }

    /** Throws an IllegalStateException "{@code call} failed: CUBLAS_STATUS_... (code)" unless success. */
    void check(String call, int status) {
        if (status != SUCCESS) throw new IllegalStateException(call + " failed: " + statusText(status));
    }
}
