package dev.jmoco.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The C API of the system oneDNN 2.x ({@code libdnnl.so.2}, Debian's libdnnl2), bound through the foreign
 * function API: the calls {@link CpuConvDnnl}, {@link CpuBatchNormDnnl}, {@link CpuReluDnnl} and
 * {@link CpuDnnlTensors} make, one CPU engine for the JVM, and {@code omp_set_num_threads}
 * of the OpenMP runtime oneDNN is built on (libgomp in Debian's build; see {@link #setThreads}).
 * <p>
 * Loaded once per JVM ({@link #get}); where the library is missing, is not 2.x, or fails, {@link #get} returns
 * null and one line on stderr says why (convolutions then run on the Java kernels). Sizes of the 2.6 structs
 * (memory descriptor 696 bytes, convolution descriptor 5976) are allocated with room to spare.
 */
final class CpuDnnl {
    /** The library to load: {@code libdnnl.so.2}, or the system property {@code jmoco.cpu.dnnl.library}. */
    static final String SONAME = System.getProperty("jmoco.cpu.dnnl.library", "libdnnl.so.2");
    static final long MEMORY_DESC_BYTES = 1024, OP_DESC_BYTES = 8192;
    /** sizeof(dnnl_memory_desc_t) in 2.x: what a copy of one reads. */
    static final long MEMORY_DESC_STRUCT_BYTES = 696;

    // dnnl_types.h (2.6)
    static final int SUCCESS = 0, ENGINE_CPU = 1, F32 = 3, TAG_ANY = 1, TAG_A = 2, TAG_NCHW = 5, TAG_OIHW = 5,
            TAG_NCHW16C = 69, TAG_NCHW8C = 93;
    static final int FORWARD_TRAINING = 64, BACKWARD = 128, BACKWARD_DATA = 160, BACKWARD_WEIGHTS = 192,
            CONVOLUTION_DIRECT = 1, ELTWISE_RELU_USE_DST_FOR_BWD = 0x100, BINARY_ADD = 0x1fff0, USE_SCALE = 0x8,
            USE_SHIFT = 0x10;
    static final int QUERY_IMPL_INFO_STR = 8, QUERY_SRC_MD = 129, QUERY_DIFF_SRC_MD = 130, QUERY_WEIGHTS_MD = 131,
            QUERY_DIFF_WEIGHTS_MD = 132, QUERY_DST_MD = 133, QUERY_DIFF_DST_MD = 134;
    static final int ARG_SRC = 1, ARG_SRC_1 = 2, ARG_DST = 17, ARG_WEIGHTS = 33, ARG_MEAN = 49, ARG_VARIANCE = 50, ARG_SCALE = 51,
            ARG_SHIFT = 52, ARG_DIFF_SRC = 129, ARG_DIFF_DST = 145, ARG_DIFF_WEIGHTS = 161, ARG_DIFF_SCALE = 255,
            ARG_DIFF_SHIFT = 256;
    static final int STREAM_IN_ORDER = 1, RUNTIME_OMP = 2;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MemorySegment MEMORY_NONE = MemorySegment.NULL;

    private final SymbolLookup lib;
    final MethodHandle memoryDescInitByTag, convForwardDescInit, convBackwardDataDescInit,
            convBackwardWeightsDescInit, batchNormForwardDescInit, batchNormBackwardDescInit, eltwiseForwardDescInit,
            eltwiseBackwardDescInit, binaryDescInit, primitiveDescCreate, primitiveDescQueryMd, primitiveDescQuery,
            primitiveDescDestroy, primitiveCreate, primitiveDestroy, primitiveExecute, memoryCreate,
            memorySetDataHandle, memoryDestroy, memoryDescGetSize, memoryDescEqual, reorderPrimitiveDescCreate,
            streamCreate, streamWait, streamDestroy;
    private final MethodHandle ompSetNumThreads;
    private final MemorySegment engine;
    private final String version;

    private static final class Holder {
        static final CpuDnnl INSTANCE = loadOrSay();
    }

    /** The binding, loaded on first use; null where oneDNN cannot be used here (said once on stderr). */
    static CpuDnnl get() { return Holder.INSTANCE; }

    /** Why oneDNN is not used, or null when it is; for {@code jmoco devices}. */
    static String unavailableReason() { return Holder.INSTANCE == null ? LoadFailure.reason : null; }

    private static final class LoadFailure { static String reason; }

    private static CpuDnnl loadOrSay() {
        try {
            return new CpuDnnl();
        } catch (Throwable t) {
            if (t instanceof Error e && !(e instanceof LinkageError)) throw e;
            LoadFailure.reason = t instanceof IllegalStateException ? t.getMessage() : t.toString();
            System.err.println("jmoco: cpu: oneDNN not used: " + LoadFailure.reason
                    + "; convolutions, batch norm and ReLU run on the Java kernels");
            return null;
        }
    }

    private CpuDnnl() throws Throwable {
        preferPassiveOpenMpThreads();
        try {
            lib = SymbolLookup.libraryLookup(SONAME, Arena.global());
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(SONAME + " not found");
        }
        var A = ADDRESS;
        var I = JAVA_INT;
        var L = JAVA_LONG;
        var F = JAVA_FLOAT;
        MethodHandle versionFn = function("dnnl_version", FunctionDescriptor.of(A));
        MemorySegment v = ((MemorySegment) versionFn.invokeExact()).reinterpret(32);
        int major = v.get(I, 0), minor = v.get(I, 4), patch = v.get(I, 8), runtime = v.get(I, 24);
        if (major != 2) throw new IllegalStateException(SONAME + " is oneDNN " + major + "." + minor + ", not 2.x");
        memoryDescInitByTag = function("dnnl_memory_desc_init_by_tag", FunctionDescriptor.of(I, A, I, A, I, I));
        convForwardDescInit = function("dnnl_convolution_forward_desc_init",
                FunctionDescriptor.of(I, A, I, I, A, A, A, A, A, A, A));
        convBackwardDataDescInit = function("dnnl_convolution_backward_data_desc_init",
                FunctionDescriptor.of(I, A, I, A, A, A, A, A, A));
        convBackwardWeightsDescInit = function("dnnl_convolution_backward_weights_desc_init",
                FunctionDescriptor.of(I, A, I, A, A, A, A, A, A, A));
        batchNormForwardDescInit = function("dnnl_batch_normalization_forward_desc_init",
                FunctionDescriptor.of(I, A, I, A, F, I));
        batchNormBackwardDescInit = function("dnnl_batch_normalization_backward_desc_init",
                FunctionDescriptor.of(I, A, I, A, A, F, I));
        eltwiseForwardDescInit = function("dnnl_eltwise_forward_desc_init", FunctionDescriptor.of(I, A, I, I, A, F, F));
        eltwiseBackwardDescInit = function("dnnl_eltwise_backward_desc_init",
                FunctionDescriptor.of(I, A, I, A, A, F, F));
        binaryDescInit = function("dnnl_binary_desc_init", FunctionDescriptor.of(I, A, I, A, A, A));
        primitiveDescCreate = function("dnnl_primitive_desc_create", FunctionDescriptor.of(I, A, A, A, A, A));
        primitiveDescQueryMd = function("dnnl_primitive_desc_query_md", FunctionDescriptor.of(A, A, I, I));
        primitiveDescQuery = function("dnnl_primitive_desc_query", FunctionDescriptor.of(I, A, I, I, A));
        primitiveDescDestroy = function("dnnl_primitive_desc_destroy", FunctionDescriptor.of(I, A));
        primitiveCreate = function("dnnl_primitive_create", FunctionDescriptor.of(I, A, A));
        primitiveDestroy = function("dnnl_primitive_destroy", FunctionDescriptor.of(I, A));
        primitiveExecute = function("dnnl_primitive_execute", FunctionDescriptor.of(I, A, A, I, A));
        memoryCreate = function("dnnl_memory_create", FunctionDescriptor.of(I, A, A, A, A));
        memorySetDataHandle = function("dnnl_memory_set_data_handle", FunctionDescriptor.of(I, A, A));
        memoryDestroy = function("dnnl_memory_destroy", FunctionDescriptor.of(I, A));
        memoryDescGetSize = function("dnnl_memory_desc_get_size", FunctionDescriptor.of(L, A));
        memoryDescEqual = function("dnnl_memory_desc_equal", FunctionDescriptor.of(I, A, A));
        reorderPrimitiveDescCreate = function("dnnl_reorder_primitive_desc_create",
                FunctionDescriptor.of(I, A, A, A, A, A, A));
        streamCreate = function("dnnl_stream_create", FunctionDescriptor.of(I, A, A, I));
        streamWait = function("dnnl_stream_wait", FunctionDescriptor.of(I, A));
        streamDestroy = function("dnnl_stream_destroy", FunctionDescriptor.of(I, A));
        ompSetNumThreads = runtime == RUNTIME_OMP ? openMpSetNumThreads() : null;
        MethodHandle engineCreate = function("dnnl_engine_create", FunctionDescriptor.of(I, A, I, L));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check("dnnl_engine_create", (int) engineCreate.invokeExact(out, ENGINE_CPU, 0L));
            engine = out.get(ADDRESS, 0);
        }
        version = "oneDNN " + major + "." + minor + "." + patch + (runtime == RUNTIME_OMP ? ", OpenMP" : "");
    }

    /**
     * Sets OMP_WAIT_POLICY=PASSIVE unless the environment sets it, before oneDNN loads libgomp (which reads it
     * once, at load). By default libgomp's idle workers spin for up to 300000 pauses (milliseconds) after each
     * parallel region, on the cores where jmoco's own pool runs the next op; passive workers sleep at once, and
     * waking them costs microseconds per region, against convolutions of milliseconds. No effect where an
     * OpenMP runtime is already loaded.
     */
    private static void preferPassiveOpenMpThreads() throws Throwable {
        if (System.getenv("OMP_WAIT_POLICY") != null) return;
        MemorySegment setenv = LINKER.defaultLookup().find("setenv").orElse(null);
        if (setenv == null) return;
        MethodHandle h = LINKER.downcallHandle(setenv, FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            int ignored = (int) h.invokeExact(arena.allocateFrom("OMP_WAIT_POLICY"), arena.allocateFrom("PASSIVE"), 0);
        }
    }

    /**
     * omp_set_num_threads of the OpenMP runtime oneDNN loaded (libgomp in Debian's build, libiomp5 or libomp
     * in others; opening a library already loaded returns that one).
     */
    private static MethodHandle openMpSetNumThreads() {
        for (String name : new String[]{"libgomp.so.1", "libiomp5.so", "libomp.so.5", "libomp.so"}) {
            try {
                SymbolLookup omp = SymbolLookup.libraryLookup(name, Arena.global());
                var fn = omp.find("omp_set_num_threads");
                if (fn.isPresent()) return LINKER.downcallHandle(fn.get(), FunctionDescriptor.ofVoid(JAVA_INT));
            } catch (IllegalArgumentException e) {
                // not this runtime: try the next
            }
        }
        throw new IllegalStateException("oneDNN runs on OpenMP, but no omp_set_num_threads was found");
    }

    private MethodHandle function(String name, FunctionDescriptor d) {
        MemorySegment symbol = lib.find(name)
                .orElseThrow(() -> new IllegalStateException(SONAME + " has no symbol " + name));
        return LINKER.downcallHandle(symbol, d);
    }

    /** "oneDNN 2.6.3, OpenMP". */
    String version() { return version; }

    MemorySegment engine() { return engine; }

    /**
     * Sets the OpenMP thread count of the calling thread, which oneDNN reads when it creates a primitive and
     * runs it. OpenMP keeps the count per calling thread, so it is set before every creation and run (it is a
     * store to a thread-local variable).
     */
    void setThreads(int threads) {
        if (ompSetNumThreads == null) return;
        try {
            ompSetNumThreads.invokeExact(threads);
        } catch (Throwable t) {
            throw new IllegalStateException("omp_set_num_threads failed", t);
        }
    }

    /** A memory descriptor of f32 {@code dims} with format tag {@code tag}, allocated in {@code arena}. */
    MemorySegment memoryDesc(Arena arena, int tag, long... dims) {
        MemorySegment md = arena.allocate(MEMORY_DESC_BYTES, 64);
        try {
            check("dnnl_memory_desc_init_by_tag", (int) memoryDescInitByTag.invokeExact(md, dims.length,
                    arena.allocateFrom(JAVA_LONG, dims), F32, tag));
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return md;
    }

    /** A new in-order stream on the engine. */
    MemorySegment createStream() {
        return created("dnnl_stream_create", out -> (int) streamCreate.invokeExact(out, engine, STREAM_IN_ORDER));
    }

    /** A memory object for {@code md} on the engine without storage; its data handle is set before each run. */
    MemorySegment createMemory(MemorySegment md) {
        return created("dnnl_memory_create", out -> (int) memoryCreate.invokeExact(out, md, engine, MEMORY_NONE));
    }

    /** The primitive of {@code pd}. */
    MemorySegment createPrimitive(MemorySegment pd) {
        return created("dnnl_primitive_create", out -> (int) primitiveCreate.invokeExact(out, pd));
    }

    /** The memory descriptor {@code query} (e.g. {@link #QUERY_SRC_MD}) of {@code pd}, owned by pd. */
    MemorySegment queryMd(MemorySegment pd, int query) {
        try {
            MemorySegment md = (MemorySegment) primitiveDescQueryMd.invokeExact(pd, query, 0);
            if (md.equals(MemorySegment.NULL)) throw new IllegalStateException("oneDNN: no memory descriptor " + query);
            return md.reinterpret(MEMORY_DESC_BYTES);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A oneDNN create call that writes its new handle through an out pointer. */
    @FunctionalInterface
    private interface Create { int call(MemorySegment out) throws Throwable; }

    /** Runs {@code create} with an out pointer, checks its status, and returns the handle it wrote. */
    private static MemorySegment created(String name, Create create) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check(name, create.call(out));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The implementation oneDNN chose for {@code pd}, e.g. "jit:avx2" or "gemm:jit". */
    String implementation(MemorySegment pd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            if ((int) primitiveDescQuery.invokeExact(pd, QUERY_IMPL_INFO_STR, 0, out) != SUCCESS) return "?";
            return out.get(ADDRESS, 0).reinterpret(256).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long size(MemorySegment md) {
        try {
            return (long) memoryDescGetSize.invokeExact(md);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    boolean equal(MemorySegment a, MemorySegment b) {
        try {
            return (int) memoryDescEqual.invokeExact(a, b) != 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Runs {@code destroy} on {@code handle} unless it is null; returns NULL for the caller's field. */
    static MemorySegment destroy(MethodHandle destroy, MemorySegment handle) {
        if (handle == null || handle.equals(MemorySegment.NULL)) return MemorySegment.NULL;
        try {
            int ignored = (int) destroy.invokeExact(handle);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return MemorySegment.NULL;
    }

    /** Destroys a plan's primitives, then its memory objects, then its primitive descriptors (nulls skipped). */
    void destroyAll(MemorySegment[] primitives, MemorySegment[] memories, MemorySegment... descriptors) {
        for (MemorySegment p : primitives) destroy(primitiveDestroy, p);
        for (MemorySegment m : memories) destroy(memoryDestroy, m);
        for (MemorySegment d : descriptors) destroy(primitiveDescDestroy, d);
    }

    /** Throws a {@link DnnlException} naming {@code call} unless {@code status} is success. */
    static void check(String call, int status) {
        if (status != SUCCESS) throw new DnnlException(call + " failed: " + statusText(status), status);
    }

    /** dnnl_status_t as its name in dnnl_types.h. */
    static String statusText(int status) {
        return switch (status) {
            case 0 -> "dnnl_success";
            case 1 -> "dnnl_out_of_memory";
            case 2 -> "dnnl_invalid_arguments";
            case 3 -> "dnnl_unimplemented";
            case 4 -> "dnnl_iterator_ends";
            case 5 -> "dnnl_runtime_error";
            case 6 -> "dnnl_not_required";
            default -> "status " + status;
        };
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    /** A oneDNN call that returned an error status. */
    static final class DnnlException extends IllegalStateException {
        final int status;

        DnnlException(String message, int status) {
            super(message);
            this.status = status;
        }
    }
}
