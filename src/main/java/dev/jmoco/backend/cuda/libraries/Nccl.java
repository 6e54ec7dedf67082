package dev.jmoco.backend.cuda.libraries;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * One NCCL communicator (this process's rank of a job), running collectives on raw device addresses of float32
 * arrays, queued on the backend's stream. NCCL uses the CUDA context current on the calling thread (the backend's
 * primary context). The ranks agree on a communicator through a 128-byte unique id that one rank creates
 * ({@link #uniqueId}) and some other channel carries to the rest (MPI) before each calls {@link #open}.
 *
 * <p>Call order: {@link #open}, any number of collectives (every rank the same ones in the same order, each only
 * queued when it returns, so the stream must be waited on before the results are read), {@link #close}. Not
 * thread-safe (the backend is driven by one thread).
 */
public final class Nccl implements AutoCloseable {
    /** Sonames looked for: NCCL 2 (the only ABI there is; PyTorch's nvidia-nccl package ships it). */
    public static final List<String> SONAMES = List.of("libnccl.so.2");
    /** The length of {@link #uniqueId()} (NCCL_UNIQUE_ID_BYTES). */
    public static final int UNIQUE_ID_BYTES = NcclFunctions.UNIQUE_ID_BYTES;

    private final NcclFunctions f;
    private final MemorySegment comm;
    private final MemorySegment stream;
    private final int versionCode;
    private final int ranks, rank;
    private boolean closed;

    private Nccl(NcclFunctions f, MemorySegment comm, long stream, int versionCode, int ranks, int rank) {
        this.f = f;
        this.comm = comm;
        this.stream = MemorySegment.ofAddress(stream);
        this.versionCode = versionCode;
        this.ranks = ranks;
        this.rank = rank;
    }

    /**
     * "2.27.3": the version of the first of {@link #SONAMES} found (ncclGetVersion; needs no GPU).
     *
     * @throws CudaLibraryUnavailable "NCCL not used: libnccl.so.2 not found", or naming a missing symbol
     */
    public static String versionOf() { return versionOf(SONAMES); }

    /** {@link #versionOf()} for other sonames (a test of the message for a library that is missing). */
    static String versionOf(List<String> sonames) {
        return NcclFunctions.versionText(NcclFunctions.bind(sonames).versionCode());
    }

    /**
     * Whether a library of {@code version} ("2.27.3", from {@link #versionOf}) has ncclAvg, which
     * {@link #allReduceAvg} needs: 2.10 or later.
     */
    public static boolean supportsAvg(String version) {
        String[] p = version.split("\\.");
        if (p.length < 2) throw new IllegalArgumentException("NCCL version '" + version + "' is not MAJOR.MINOR.PATCH");
        int major = Integer.parseInt(p[0]), minor = Integer.parseInt(p[1]);
        return major > 2 || major == 2 && minor >= 10;
    }

    /**
     * A new unique id (ncclGetUniqueId), for one rank to create and every rank to pass to {@link #open}. It
     * names a socket that this process's NCCL listens on, so it is created by a rank that takes part.
     *
     * @throws CudaLibraryUnavailable naming the missing library or symbol, or the failing call and status
     */
    public static byte[] uniqueId() {
        NcclFunctions f = NcclFunctions.bind(SONAMES);
        try (Arena local = Arena.ofConfined()) {
            MemorySegment id = local.allocate(NcclFunctions.UNIQUE_ID);
            int status = (int) f.getUniqueId.invokeExact(id);
            if (status != NcclFunctions.SUCCESS)
                throw f.library.unavailable("ncclGetUniqueId failed: " + f.statusText(status));
            return id.toArray(JAVA_BYTE);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    /**
     * Joins the communicator of {@code uniqueId} as {@code rank} of {@code ranks} (ncclCommInitRank, on the
     * context current on this thread), its collectives queued on {@code stream} (a raw CUstream; 0 is the
     * legacy default stream). Blocks until every rank has joined.
     *
     * @throws IllegalArgumentException for a rank outside 0 .. ranks - 1 or an id not of {@link #UNIQUE_ID_BYTES}
     * @throws CudaLibraryUnavailable   naming the missing library or symbol, or the failing call and status
     */
    public static Nccl open(int ranks, int rank, byte[] uniqueId, long stream) {
        if (ranks < 1 || rank < 0 || rank >= ranks)
            throw new IllegalArgumentException("NCCL: rank " + rank + " is not one of " + ranks + " ranks");
        if (uniqueId.length != UNIQUE_ID_BYTES)
            throw new IllegalArgumentException("NCCL: a unique id of " + uniqueId.length + " bytes, not "
                    + UNIQUE_ID_BYTES);
        NcclFunctions f = NcclFunctions.bind(SONAMES);
        int versionCode = f.versionCode();
        try (Arena local = Arena.ofConfined()) {
            MemorySegment out = local.allocate(ADDRESS);
            MemorySegment id = local.allocate(NcclFunctions.UNIQUE_ID);
            MemorySegment.copy(uniqueId, 0, id, JAVA_BYTE, 0, UNIQUE_ID_BYTES);
            int status = (int) f.commInitRank.invokeExact(out, ranks, id, rank);
            if (status != NcclFunctions.SUCCESS)
                throw f.library.unavailable("ncclCommInitRank(" + ranks + " ranks, rank " + rank + ") failed: "
                        + f.statusText(status));
            return new Nccl(f, out.get(ADDRESS, 0), stream, versionCode, ranks, rank);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    /** {@code recv} [count] = the sum over the ranks of their {@code send} [count] (the same address: in place). */
    public void allReduceSum(long send, long recv, long count) {
        allReduce(send, recv, count, NcclFunctions.SUM);
    }

    /**
     * {@code recv} [count] = the mean over the ranks of their {@code send} [count] (ncclAvg: one pass, no scaling
     * kernel; the same address: in place).
     *
     * @throws IllegalStateException for a library older than 2.10, which has no ncclAvg
     */
    public void allReduceAvg(long send, long recv, long count) {
        if (versionCode < NcclFunctions.AVG_SINCE)
            throw new IllegalStateException("ncclAllReduce with ncclAvg needs NCCL 2.10 or later; " + describe()
                    + " has no ncclAvg");
        allReduce(send, recv, count, NcclFunctions.AVG);
    }

    private void allReduce(long send, long recv, long count, int op) {
        open("ncclAllReduce", count);
        int status;
        try {
            status = (int) f.allReduce.invokeExact(MemorySegment.ofAddress(send), MemorySegment.ofAddress(recv), count,
                    NcclFunctions.FLOAT32, op, comm, stream);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
        f.check("ncclAllReduce", status);
    }

    /** {@code recv} [ranks x sendCount] = every rank's {@code send} [sendCount], rank r's at r x sendCount. */
    public void allGather(long send, long recv, long sendCount) {
        open("ncclAllGather", sendCount);
        int status;
        try {
            status = (int) f.allGather.invokeExact(MemorySegment.ofAddress(send), MemorySegment.ofAddress(recv),
                    sendCount, NcclFunctions.FLOAT32, comm, stream);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
        f.check("ncclAllGather", status);
    }

    /** {@code recv} [count] = rank {@code root}'s {@code send} [count], on every rank (the same address: in place). */
    public void broadcast(long send, long recv, long count, int root) {
        open("ncclBroadcast", count);
        if (root < 0 || root >= ranks)
            throw new IllegalArgumentException("ncclBroadcast: root " + root + " is not one of " + ranks + " ranks");
        int status;
        try {
            status = (int) f.broadcast.invokeExact(MemorySegment.ofAddress(send), MemorySegment.ofAddress(recv), count,
                    NcclFunctions.FLOAT32, root, comm, stream);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
        f.check("ncclBroadcast", status);
    }

    /** Starts a group: the collectives until {@link #groupEnd} are fused into one launch. */
    public void groupStart() {
        open("ncclGroupStart", 0);
        int status;
        try {
            status = (int) f.groupStart.invokeExact();
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
        f.check("ncclGroupStart", status);
    }

    /** Ends the group: its collectives are queued on the stream when this returns (not done). */
    public void groupEnd() {
        open("ncclGroupEnd", 0);
        int status;
        try {
            status = (int) f.groupEnd.invokeExact();
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
        f.check("ncclGroupEnd", status);
    }

    /**
     * Throws when the communicator has met an asynchronous error (a peer or the network failed while a
     * collective ran: the stream may then never finish), "ncclCommGetAsyncError: text (code)".
     */
    public void checkAsyncError() {
        open("ncclCommGetAsyncError", 0);
        try (Arena local = Arena.ofConfined()) {
            MemorySegment error = local.allocate(JAVA_INT);
            f.check("ncclCommGetAsyncError", (int) f.commGetAsyncError.invokeExact(comm, error));
            int code = error.get(JAVA_INT, 0);
            if (code != NcclFunctions.SUCCESS)
                throw new IllegalStateException("ncclCommGetAsyncError: " + f.statusText(code));
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    private void open(String call, long count) {
        if (closed) throw new IllegalStateException("NCCL: " + call + " after close");
        if (count < 0) throw new IllegalArgumentException(call + ": count " + count);
    }

    /** "2.27.3". */
    public String version() { return NcclFunctions.versionText(versionCode); }

    /** "NCCL 2.27.3 (libnccl.so.2), rank 0 of 2". */
    public String describe() {
        return "NCCL " + version() + " (" + f.library.soname() + "), rank " + rank + " of " + ranks;
    }

    /**
     * Frees the communicator and aborts whatever of it still runs on the device (ncclCommAbort), after a failure:
     * unlike {@link #close} it does not wait for the other ranks. Idempotent, and a no-op after close.
     */
    public void abort() {
        if (closed) return;
        closed = true;
        int status;
        try {
            status = (int) f.commAbort.invokeExact(comm);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
        f.check("ncclCommAbort", status);
    }

    /**
     * Destroys the communicator (ncclCommDestroy; the context must still exist and be current, and its
     * collectives should be finished: wait for the stream first); idempotent.
     */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        int status;
        try {
            status = (int) f.commDestroy.invokeExact(comm);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
        f.check("ncclCommDestroy", status);
    }

    /**
     * "NCCL not used: {@code reason}", for a rank that must refuse NCCL because another rank cannot use it (every
     * rank then takes the same fallback).
     */
    public static CudaLibraryUnavailable notUsed(String reason) {
        return new CudaLibraryUnavailable("NCCL not used: " + reason);
    }
}
