package dev.jmoco.backend.cuda.libraries;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.FunctionDescriptor.of;
import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The cuDNN 9 functions jmoco calls (the legacy convolution API of cudnn_graph.h, cudnn_ops.h, cudnn_cnn.h),
 * bound once per loaded library. Handles and descriptors are pointers (ADDRESS), enums and statuses C ints,
 * size_t a 64-bit long (LP64 Linux). Binding every handle up front means a library missing a symbol is refused
 * at open, not at its first use.
 */
final class CudnnFunctions {
    /** cudnnStatus_t CUDNN_STATUS_SUCCESS. */
    static final int SUCCESS = 0;
    /** cudnnDataType_t CUDNN_DATA_FLOAT; cudnnTensorFormat_t CUDNN_TENSOR_NCHW. */
    static final int DATA_FLOAT = 0, TENSOR_NCHW = 0;
    /** cudnnConvolutionMode_t CUDNN_CROSS_CORRELATION (what deep learning calls convolution). */
    static final int CROSS_CORRELATION = 1;
    /** cudnnMathType_t: DEFAULT (TF32 allowed for float since cuDNN 8), TENSOR_OP, ..._ALLOW_CONVERSION, FMA. */
    static final int DEFAULT_MATH = 0, TENSOR_OP_MATH = 1, TENSOR_OP_MATH_ALLOW_CONVERSION = 2, FMA_MATH = 3;

    /**
     * cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t, one layout for all three: { int algo; int status;
     * float time; size_t memory; int determinism; int mathType; int reserved[3]; }, memory 8-aligned at 16.
     */
    static final StructLayout PERF = MemoryLayout.structLayout(
            JAVA_INT.withName("algo"),
            JAVA_INT.withName("status"),
            JAVA_FLOAT.withName("time"),
            MemoryLayout.paddingLayout(4),
            JAVA_LONG.withName("memory"),
            JAVA_INT.withName("determinism"),
            JAVA_INT.withName("mathType"),
            MemoryLayout.sequenceLayout(3, JAVA_INT).withName("reserved"),
            MemoryLayout.paddingLayout(4));
    static final long PERF_ALGO = PERF.byteOffset(groupElement("algo"));
    static final long PERF_STATUS = PERF.byteOffset(groupElement("status"));
    static final long PERF_MEMORY = PERF.byteOffset(groupElement("memory"));
    static final long PERF_MATH_TYPE = PERF.byteOffset(groupElement("mathType"));

    static {
        if (PERF.byteSize() != 48 || PERF_MEMORY != 16)
            throw new AssertionError("cuDNN perf struct layout: " + PERF);
    }

    /** The five functions of one pass, see {@link CudnnPass}. */
    record PassFunctions(MethodHandle maxCount, MethodHandle algorithms, MethodHandle find,
                         MethodHandle workspaceSize, MethodHandle run) {}

    final NativeLibrary library;
    /** size_t cudnnGetVersion(void): major * 10000 + minor * 100 + patch for cuDNN 9. */
    private final MethodHandle getVersion;
    /** const char *cudnnGetErrorString(cudnnStatus_t): "CUDNN_STATUS_NOT_INITIALIZED". */
    private final MethodHandle getErrorString;
    /** cudnnStatus_t cudnnCreate(cudnnHandle_t *), cudnnDestroy(cudnnHandle_t). */
    final MethodHandle create, destroy;
    /** cudnnStatus_t cudnnSetStream(cudnnHandle_t, cudaStream_t). */
    final MethodHandle setStream;
    /** cudnnStatus_t cudnnCreate/DestroyTensorDescriptor(cudnnTensorDescriptor_t *), (..._t). */
    final MethodHandle createTensor, destroyTensor;
    /** cudnnStatus_t cudnnSetTensor4dDescriptor(desc, cudnnTensorFormat_t, cudnnDataType_t, int n, c, h, w). */
    final MethodHandle setTensor4d;
    /** cudnnStatus_t cudnnCreate/DestroyFilterDescriptor. */
    final MethodHandle createFilter, destroyFilter;
    /** cudnnStatus_t cudnnSetFilter4dDescriptor(desc, cudnnDataType_t, cudnnTensorFormat_t, int k, c, h, w). */
    final MethodHandle setFilter4d;
    /** cudnnStatus_t cudnnCreate/DestroyConvolutionDescriptor. */
    final MethodHandle createConvolution, destroyConvolution;
    /**
     * cudnnStatus_t cudnnSetConvolution2dDescriptor(desc, int pad_h, pad_w, u, v, dilation_h, dilation_w,
     * cudnnConvolutionMode_t, cudnnDataType_t computeType).
     */
    final MethodHandle setConvolution2d;
    /** cudnnStatus_t cudnnSetConvolutionMathType(desc, cudnnMathType_t). */
    final MethodHandle setConvolutionMathType;
    /** cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(convDesc, xDesc, wDesc, int *n, *c, *h, *w). */
    final MethodHandle forwardOutputDim;
    private final Map<CudnnPass, PassFunctions> passes = new EnumMap<>(CudnnPass.class);

    private CudnnFunctions(NativeLibrary library) {
        this.library = library;
        getVersion = library.function("cudnnGetVersion", of(JAVA_LONG));
        getErrorString = library.function("cudnnGetErrorString", of(ADDRESS, JAVA_INT));
        create = library.function("cudnnCreate", of(JAVA_INT, ADDRESS));
        destroy = library.function("cudnnDestroy", of(JAVA_INT, ADDRESS));
        setStream = library.function("cudnnSetStream", of(JAVA_INT, ADDRESS, ADDRESS));
        createTensor = library.function("cudnnCreateTensorDescriptor", of(JAVA_INT, ADDRESS));
        destroyTensor = library.function("cudnnDestroyTensorDescriptor", of(JAVA_INT, ADDRESS));
        setTensor4d = library.function("cudnnSetTensor4dDescriptor",
                of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        createFilter = library.function("cudnnCreateFilterDescriptor", of(JAVA_INT, ADDRESS));
        destroyFilter = library.function("cudnnDestroyFilterDescriptor", of(JAVA_INT, ADDRESS));
        setFilter4d = library.function("cudnnSetFilter4dDescriptor",
                of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        createConvolution = library.function("cudnnCreateConvolutionDescriptor", of(JAVA_INT, ADDRESS));
        destroyConvolution = library.function("cudnnDestroyConvolutionDescriptor", of(JAVA_INT, ADDRESS));
        setConvolution2d = library.function("cudnnSetConvolution2dDescriptor", of(JAVA_INT, ADDRESS,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        setConvolutionMathType = library.function("cudnnSetConvolutionMathType", of(JAVA_INT, ADDRESS, JAVA_INT));
        forwardOutputDim = library.function("cudnnGetConvolution2dForwardOutputDim",
                of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        for (CudnnPass pass : CudnnPass.values())
            passes.put(pass, new PassFunctions(
                    library.function(pass.maxCountFunction(), of(JAVA_INT, ADDRESS, ADDRESS)),
                    library.function(pass.algorithmsFunction(), of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                            ADDRESS, JAVA_INT, ADDRESS, ADDRESS)),
                    library.function(pass.findFunction(), of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                            ADDRESS, JAVA_INT, ADDRESS, ADDRESS)),
                    library.function(pass.workspaceFunction(), of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                            ADDRESS, JAVA_INT, ADDRESS)),
                    library.function(pass.runFunction(), of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                            ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS))));
    }

    /**
     * Loads {@code soname} and binds every function.
     *
     * @throws CudaLibraryUnavailable when it does not load or a symbol is missing
     */
    static CudnnFunctions bind(String soname) {
        return new CudnnFunctions(NativeLibrary.load("cuDNN", List.of(soname)));
    }

    /** The functions of {@code pass}. */
    PassFunctions pass(CudnnPass pass) { return passes.get(pass); }

    /** cudnnGetVersion(): 90500 for 9.5.0 (needs no GPU). */
    long version() {
        try {
            return (long) getVersion.invokeExact();
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    /** "9.5.0" from {@link #version()}'s encoding (major * 10000 + minor * 100 + patch since cuDNN 9). */
    static String versionText(long version) {
        return (version / 10000) + "." + (version / 100 % 100) + "." + (version % 100);
    }

    /** "CUDNN_STATUS_NAME (code)", for messages. */
    String statusText(int status) {
        return NativeLibrary.statusText(getErrorString, status);
    }

    /**
     * cudnnStatus_t categories of cuDNN 9 (cudnn_graph.h: {@code CUDNN_STATUS_CATEGORY(code)} is
     * {@code code / 1000 * 1000}): CUDNN_STATUS_BAD_PARAM 2000 (sub-codes 2001 INVALID_VALUE, 2002 NULL_POINTER,
     * 2003 MISALIGNED_POINTER ... 2012), CUDNN_STATUS_NOT_SUPPORTED 3000 (3001 GRAPH_PATTERN ... 3014); the
     * others are NOT_INITIALIZED 1001-1008, INTERNAL_ERROR 4000 and EXECUTION_FAILED 5000.
     */
    static final int BAD_PARAM = 2000, NOT_SUPPORTED = 3000;

    /**
     * Whether {@code status}, returned by a convolution run with one algorithm, says that this algorithm
     * refused these arguments, so another one may take them: the CUDNN_STATUS_BAD_PARAM category (2000-2999:
     * a view whose address an algorithm cannot take, e.g. one not 16-byte aligned, comes back as plain
     * BAD_PARAM, not only as BAD_PARAM_MISALIGNED_POINTER) and the CUDNN_STATUS_NOT_SUPPORTED category
     * (3000-3999). Both report argument checks, which fail before the algorithm's kernels are queued, so a retry
     * cannot apply an accumulating pass (beta 1) twice; arguments that no algorithm takes still end in an
     * exception naming every refusal ({@link CudnnConv#reject}). INTERNAL_ERROR and EXECUTION_FAILED (and
     * anything else) are failures, not refusals, and are thrown at once.
     */
    static boolean tryAnother(int status) {
        int category = status / 1000 * 1000;
        return category == BAD_PARAM || category == NOT_SUPPORTED;
    }

    /** Throws an IllegalStateException "{@code call} failed: CUDNN_STATUS_... (code)" unless success. */
    void check(String call, int status) {
        if (status != SUCCESS) throw new IllegalStateException(call + " failed: " + statusText(status));
    }

    /** The int field at {@code offset} ({@link #PERF_ALGO} ...) of element {@code i} of a {@link #PERF} array. */
    static int perfInt(MemorySegment perf, long i, long offset) {
        return perf.get(JAVA_INT, i * PERF.byteSize() + offset);
    }
}
