package dev.jmoco.dist;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.FunctionDescriptor.of;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Open MPI's C API (mpi.h of Open MPI 4 and 5), bound through the foreign function API. Open MPI's handles are
 * pointers to predefined objects that libmpi exports ({@code MPI_COMM_WORLD} is {@code &ompi_mpi_comm_world},
 * {@code MPI_FLOAT} is {@code &ompi_mpi_float}), so they are looked up as symbols; MPICH's integer handles are
 * another ABI, not bound here. The communicator's error handler is set to MPI_ERRORS_RETURN, so a failed
 * call becomes a Java exception with MPI's message instead of an abort without one.
 */
final class OpenMpi {
    /**
     * Sonames looked for: Open MPI 4 (Debian's libopenmpi3) and 5; the system property {@code jmoco.mpi.library}
     * names another (a build of one's own, or a missing one in tests).
     */
    static final List<String> SONAMES = List.of(System.getProperty("jmoco.mpi.library", "libmpi.so.40"));
    /** MPI_IN_PLACE in Open MPI's mpi.h: {@code ((void *) 1)}. */
    static final MemorySegment IN_PLACE = MemorySegment.ofAddress(1);
    /** MPI_THREAD_FUNNELED: only the thread that initialised MPI calls it (the training loop's). */
    private static final int THREAD_FUNNELED = 1;
    /** MPI_MAX_ERROR_STRING and MPI_MAX_LIBRARY_VERSION_STRING in Open MPI's mpi.h. */
    private static final int MAX_STRING = 256;
    private static final Linker LINKER = Linker.nativeLinker();

    private final SymbolLookup lookup;
    final String soname;
    /** Predefined handles: MPI_COMM_WORLD, MPI_FLOAT, MPI_DOUBLE, MPI_BYTE, MPI_SUM, MPI_ERRORS_RETURN. */
    final MemorySegment world, floatType, doubleType, byteType, sum, errorsReturn;
    /** int MPI_Initialized(int *flag). */
    private final MethodHandle initialized;
    /** int MPI_Init_thread(int *argc, char ***argv, int required, int *provided). */
    private final MethodHandle initThread;
    /** int MPI_Comm_rank(MPI_Comm comm, int *rank); MPI_Comm_size the same. */
    private final MethodHandle commRank, commSize;
    /** int MPI_Comm_set_errhandler(MPI_Comm comm, MPI_Errhandler errhandler). */
    private final MethodHandle setErrhandler;
    /** int MPI_Allreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype, MPI_Op, MPI_Comm). */
    final MethodHandle allreduce;
    /**
     * int MPI_Allgather(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount,
     * MPI_Datatype recvtype, MPI_Comm comm).
     */
    final MethodHandle allgather;
    /** int MPI_Bcast(void *buffer, int count, MPI_Datatype datatype, int root, MPI_Comm comm). */
    final MethodHandle bcast;
    /** int MPI_Barrier(MPI_Comm comm). */
    final MethodHandle barrier;
    /** int MPI_Abort(MPI_Comm comm, int errorcode). */
    final MethodHandle abort;
    /** int MPI_Finalize(void). */
    final MethodHandle finalizeMpi;
    /** int MPI_Error_string(int errorcode, char *string, int *resultlen). */
    private final MethodHandle errorString;
    /** int MPI_Get_library_version(char *version, int *resultlen). */
    private final MethodHandle libraryVersion;

    private OpenMpi(String soname, SymbolLookup lookup) {
        this.soname = soname;
        this.lookup = lookup;
        world = symbol("ompi_mpi_comm_world");
        floatType = symbol("ompi_mpi_float");
        doubleType = symbol("ompi_mpi_double");
        byteType = symbol("ompi_mpi_byte");
        sum = symbol("ompi_mpi_op_sum");
        errorsReturn = symbol("ompi_mpi_errors_return");
        initialized = function("MPI_Initialized", of(JAVA_INT, ADDRESS));
        initThread = function("MPI_Init_thread", of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS));
        commRank = function("MPI_Comm_rank", of(JAVA_INT, ADDRESS, ADDRESS));
        commSize = function("MPI_Comm_size", of(JAVA_INT, ADDRESS, ADDRESS));
        setErrhandler = function("MPI_Comm_set_errhandler", of(JAVA_INT, ADDRESS, ADDRESS));
        allreduce = function("MPI_Allreduce", of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        allgather = function("MPI_Allgather",
                of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        bcast = function("MPI_Bcast", of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        barrier = function("MPI_Barrier", of(JAVA_INT, ADDRESS));
        abort = function("MPI_Abort", of(JAVA_INT, ADDRESS, JAVA_INT));
        finalizeMpi = function("MPI_Finalize", of(JAVA_INT));
        errorString = function("MPI_Error_string", of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        libraryVersion = function("MPI_Get_library_version", of(JAVA_INT, ADDRESS, ADDRESS));
    }

    /**
     * Loads the first of {@code sonames} the dynamic linker finds and binds every function and handle.
     *
     * @throws CollectiveUnavailable "MPI not used: libmpi.so.40 not found" or naming the missing symbol
     */
    static OpenMpi load(List<String> sonames) {
        for (String soname : sonames) {
            SymbolLookup lookup;
            try {
                lookup = SymbolLookup.libraryLookup(soname, Arena.global());
            } catch (IllegalArgumentException e) {
                continue; // not found, or a library it needs is missing: try the next name
            }
            return new OpenMpi(soname, lookup);
        }
        throw new CollectiveUnavailable("MPI not used: " + String.join(", ", sonames) + " (Open MPI) not found");
    }

    /** Whether the dynamic linker finds Open MPI's library (for {@code jmoco devices}). */
    static boolean found() {
        for (String soname : SONAMES)
            try (Arena arena = Arena.ofConfined()) {
                SymbolLookup.libraryLookup(soname, arena);
                return true;
            } catch (IllegalArgumentException e) {
                // not this one
            }
        return false;
    }

    private MemorySegment symbol(String name) {
        return lookup.find(name).orElseThrow(() -> new CollectiveUnavailable("MPI not used: " + soname
                + " has no symbol " + name + " (is it Open MPI's? MPICH's ABI is not bound)"));
    }

    private MethodHandle function(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor);
    }

    /**
     * MPI_Init_thread with MPI_THREAD_FUNNELED (once per process: MPI cannot be initialised again after
     * MPI_Finalize), then MPI_ERRORS_RETURN on MPI_COMM_WORLD; returns {rank, size}.
     */
    int[] init() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment flag = arena.allocate(JAVA_INT), provided = arena.allocate(JAVA_INT);
            check("MPI_Initialized", (int) initialized.invokeExact(flag));
            if (flag.get(JAVA_INT, 0) == 0)
                check("MPI_Init_thread", (int) initThread.invokeExact(MemorySegment.NULL, MemorySegment.NULL,
                        THREAD_FUNNELED, provided));
            check("MPI_Comm_set_errhandler", (int) setErrhandler.invokeExact(world, errorsReturn));
            MemorySegment rank = arena.allocate(JAVA_INT), size = arena.allocate(JAVA_INT);
            check("MPI_Comm_rank", (int) commRank.invokeExact(world, rank));
            check("MPI_Comm_size", (int) commSize.invokeExact(world, size));
            return new int[] {rank.get(JAVA_INT, 0), size.get(JAVA_INT, 0)};
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The library's own version line: "Open MPI v4.1.4, package: Debian OpenMPI, ...", its first part. */
    String version() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocate(JAVA_BYTE, MAX_STRING), length = arena.allocate(JAVA_INT);
            check("MPI_Get_library_version", (int) libraryVersion.invokeExact(text, length));
            String v = text.getString(0);
            int comma = v.indexOf(',');
            return (comma > 0 ? v.substring(0, comma) : v).trim();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Throws "{@code call} failed: MPI's error text (code)" unless {@code code} is MPI_SUCCESS. */
    void check(String call, int code) {
        if (code == 0) return;
        String text = "error " + code;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(JAVA_BYTE, MAX_STRING), length = arena.allocate(JAVA_INT);
            if ((int) errorString.invokeExact(code, s, length) == 0) text = s.getString(0) + " (" + code + ")";
        } catch (Throwable ignored) {
            // keep the bare code
        }
        throw new IllegalStateException(call + " failed: " + text);
    }

    /** A downcall throws nothing checked; what arrives here is unchecked, or a programming error. */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException("MPI call failed", t);
    }
}
