package dev.jmoco.backend.cuda.libraries;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.FunctionDescriptor.of;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The NCCL functions jmoco calls, bound once per loaded library. Prototypes and enum values as in nccl.h
 * (src/nccl.h.in of NVIDIA/nccl, checked at v2.10.3-1, v2.27.3-1 and v2.30.7-1: the same in all three).
 * Communicators and streams are pointers (ADDRESS), enums and status codes C ints, size_t a 64-bit long (Linux
 * x86-64 and aarch64). Binding every handle up front means a library missing a symbol is refused at open, not at
 * its first use.
 */
final class NcclFunctions {
    /** ncclResult_t ncclSuccess. */
    static final int SUCCESS = 0;
    /** ncclDataType_t ncclFloat32. */
    static final int FLOAT32 = 7;
    /** ncclRedOp_t ncclSum, and ncclAvg (NCCL 2.10 and later: an older library refuses it as invalid). */
    static final int SUM = 0, AVG = 4;
    /** NCCL_UNIQUE_ID_BYTES. */
    static final int UNIQUE_ID_BYTES = 128;
    /** The version code of 2.10.0, the first with ncclAvg. */
    static final int AVG_SINCE = 21000;
    /** {@code typedef struct { char internal[NCCL_UNIQUE_ID_BYTES]; } ncclUniqueId}: passed by value. */
    static final StructLayout UNIQUE_ID = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(UNIQUE_ID_BYTES, JAVA_BYTE).withName("internal"));
    /** ncclCommInitRank's: the id by value (on x86-64 a struct of over 16 bytes goes on the stack, as a copy). */
    static final FunctionDescriptor COMM_INIT_RANK = of(JAVA_INT, ADDRESS, JAVA_INT, UNIQUE_ID, JAVA_INT);

    final NativeLibrary library;
    /** ncclResult_t ncclGetVersion(int *version). */
    private final MethodHandle getVersion;
    /** ncclResult_t ncclGetUniqueId(ncclUniqueId *uniqueId). */
    final MethodHandle getUniqueId;
    /** ncclResult_t ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId commId, int rank). */
    final MethodHandle commInitRank;
    /** ncclResult_t ncclCommDestroy(ncclComm_t comm). */
    final MethodHandle commDestroy;
    /** ncclResult_t ncclCommAbort(ncclComm_t comm). */
    final MethodHandle commAbort;
    /**
     * ncclResult_t ncclAllReduce(const void *sendbuff, void *recvbuff, size_t count, ncclDataType_t datatype,
     * ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream).
     */
    final MethodHandle allReduce;
    /**
     * ncclResult_t ncclAllGather(const void *sendbuff, void *recvbuff, size_t sendcount, ncclDataType_t datatype,
     * ncclComm_t comm, cudaStream_t stream).
     */
    final MethodHandle allGather;
    /**
     * ncclResult_t ncclBroadcast(const void *sendbuff, void *recvbuff, size_t count, ncclDataType_t datatype,
     * int root, ncclComm_t comm, cudaStream_t stream).
     */
    final MethodHandle broadcast;
    /** ncclResult_t ncclGroupStart(void). */
    final MethodHandle groupStart;
    /** ncclResult_t ncclGroupEnd(void). */
    final MethodHandle groupEnd;
    /** const char *ncclGetErrorString(ncclResult_t result): "invalid argument (run with NCCL_DEBUG=WARN ...)". */
    private final MethodHandle getErrorString;
    /** ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t *asyncError). */
    final MethodHandle commGetAsyncError;

    private NcclFunctions(NativeLibrary library) {
        this.library = library;
        getVersion = library.function("ncclGetVersion", of(JAVA_INT, ADDRESS));
        getUniqueId = library.function("ncclGetUniqueId", of(JAVA_INT, ADDRESS));
        commInitRank = library.function("ncclCommInitRank", COMM_INIT_RANK);
        commDestroy = library.function("ncclCommDestroy", of(JAVA_INT, ADDRESS));
        commAbort = library.function("ncclCommAbort", of(JAVA_INT, ADDRESS));
        allReduce = library.function("ncclAllReduce",
                of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        allGather = library.function("ncclAllGather",
                of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS));
        broadcast = library.function("ncclBroadcast",
                of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        groupStart = library.function("ncclGroupStart", of(JAVA_INT));
        groupEnd = library.function("ncclGroupEnd", of(JAVA_INT));
        getErrorString = library.function("ncclGetErrorString", of(ADDRESS, JAVA_INT));
        commGetAsyncError = library.function("ncclCommGetAsyncError", of(JAVA_INT, ADDRESS, ADDRESS));
    }

    /**
     * Loads the first of {@code sonames} found and binds every function.
     *
     * @throws CudaLibraryUnavailable when none loads or a symbol is missing
     */
    static NcclFunctions bind(List<String> sonames) {
        return new NcclFunctions(NativeLibrary.load("NCCL", sonames));
    }

    /** NCCL_VERSION_CODE of the loaded library (ncclGetVersion; needs no GPU). */
    int versionCode() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_INT);
            check("ncclGetVersion", (int) getVersion.invokeExact(value));
            return value.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    /**
     * "MAJOR.MINOR.PATCH" of a version code: nccl.h's NCCL_VERSION(X, Y, Z) is X * 10000 + Y * 100 + Z from 2.9 on,
     * X * 1000 + Y * 100 + Z before (so every code below 10000 is of the old form).
     */
    static String versionText(int code) {
        int major = code >= 10000 ? code / 10000 : code / 1000;
        int rest = code >= 10000 ? code % 10000 : code % 1000;
        return major + "." + rest / 100 + "." + rest % 100;
    }

    /** "ncclGetErrorString's text (code)", for messages. */
    String statusText(int status) {
        return NativeLibrary.statusText(getErrorString, status);
    }

    /** Throws an IllegalStateException "{@code call} failed: text (code)" unless success. */
    void check(String call, int status) {
        if (status != SUCCESS) throw new IllegalStateException(call + " failed: " + statusText(status));
    }
}
