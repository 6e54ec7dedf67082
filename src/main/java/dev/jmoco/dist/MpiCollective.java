package dev.jmoco.dist;

import dev.jmoco.backend.Buffer;
import dev.jmoco.trace.Trace;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Collectives over MPI on host memory, for any backend: a buffer is downloaded into a Java array, copied into
 * off-heap memory that MPI reads and writes in place, and copied back and uploaded (the staging, tallied
 * apart). Off-heap rather than a pinned Java array: a rank may wait in MPI for seconds (on the slowest rank,
 * or until the runtime ends the job), and a pinned array would hold up the garbage collector all that time.
 * The staging memory grows to the largest call and is reused.
 *
 * <p>MPI calls come from the thread that opened it (MPI_THREAD_FUNNELED). Open MPI only ({@link OpenMpi}).
 */
public final class MpiCollective implements Collective {
    private final OpenMpi mpi;
    private final int rank, size;
    private final String name;
    private final CollectiveTally tally = new CollectiveTally();
    private Arena arena = Arena.ofConfined(); // the staging memory's, replaced when it grows
    private MemorySegment staging = MemorySegment.NULL;
    private float[] host = new float[0];
    private boolean closed;

    private MpiCollective(OpenMpi mpi) {
        this.mpi = mpi;
        int[] rankSize = mpi.init();
        this.rank = rankSize[0];
        this.size = rankSize[1];
        this.name = "MPI (" + mpi.version() + ")";
    }

    /**
     * Initialises MPI (once per process); buffers of any backend may then be passed.
     *
     * @throws CollectiveUnavailable when Open MPI's library is not found
     */
    public static MpiCollective open() { return new MpiCollective(OpenMpi.load(OpenMpi.SONAMES)); }

    /** Whether the dynamic linker finds Open MPI (libmpi.so.40). */
    public static boolean libraryFound() { return OpenMpi.found(); }

    @Override public int rank() { return rank; }
    @Override public int size() { return size; }
    @Override public String name() { return name; }
    @Override public CollectiveTally tally() { return tally; }

    @Override
    public void allReduceMean(List<Buffer> buffers) {
        long total = 0;
        for (Buffer b : buffers) total += b.size();
        int count = count("all-reduce", total);
        try (Trace.Scope scope = Trace.scope("all-reduce (MPI)", "transfer")) {
            long t0 = System.nanoTime();
            MemorySegment s = stage(count);
            int at = 0;
            for (Buffer b : buffers) {
                b.backend().download(b, host, at);
                at += (int) b.size();
            }
            MemorySegment.copy(host, 0, s, JAVA_FLOAT, 0, count);
            long t1 = System.nanoTime();
            call("MPI_Allreduce", () -> (int) mpi.allreduce.invokeExact(OpenMpi.IN_PLACE, s, count, mpi.floatType,
                    mpi.sum, mpi.world));
            long t2 = System.nanoTime();
            MemorySegment.copy(s, JAVA_FLOAT, 0, host, 0, count);
            float scale = 1f / size;
            for (int i = 0; i < count; i++) host[i] *= scale;
            at = 0;
            for (Buffer b : buffers) {
                b.backend().upload(host, at, b);
                at += (int) b.size();
            }
            long t3 = System.nanoTime();
            tally.add("all-reduce", 4L * count, t3 - t0, (t1 - t0) + (t3 - t2));
        }
    }

    @Override
    public void allGather(Buffer send, Buffer recv) {
        if (recv.size() != send.size() * size)
            throw new IllegalArgumentException("all-gather: receive buffer of " + recv.size() + " floats, not " + size
                    + " ranks x " + send.size());
        int m = count("all-gather", send.size()), all = count("all-gather", recv.size());
        try (Trace.Scope scope = Trace.scope("all-gather (MPI)", "transfer")) {
            long t0 = System.nanoTime();
            MemorySegment s = stage(m + (long) all);
            send.backend().download(send, host, 0);
            MemorySegment.copy(host, 0, s, JAVA_FLOAT, 0, m);
            MemorySegment out = s.asSlice(4L * m);
            long t1 = System.nanoTime();
            call("MPI_Allgather", () -> (int) mpi.allgather.invokeExact(s, m, mpi.floatType, out, m, mpi.floatType,
                    mpi.world));
            long t2 = System.nanoTime();
            MemorySegment.copy(out, JAVA_FLOAT, 0, host, 0, all);
            recv.backend().upload(host, 0, recv);
            long t3 = System.nanoTime();
            tally.add("all-gather", 4L * m, t3 - t0, (t1 - t0) + (t3 - t2));
        }
    }

    @Override
    public void broadcast(Buffer buffer, int root) {
        SingleProcess.checkRoot(root, size);
        int count = count("broadcast", buffer.size());
        long t0 = System.nanoTime();
        MemorySegment s = stage(count);
        if (rank == root) {
            buffer.backend().download(buffer, host, 0);
            MemorySegment.copy(host, 0, s, JAVA_FLOAT, 0, count);
        }
        call("MPI_Bcast", () -> (int) mpi.bcast.invokeExact(s, count, mpi.floatType, root, mpi.world));
        if (rank != root) {
            MemorySegment.copy(s, JAVA_FLOAT, 0, host, 0, count);
            buffer.backend().upload(host, 0, buffer);
        }
        tally.add("broadcast", 4L * count, System.nanoTime() - t0, 0);
    }

    @Override
    public byte[] broadcast(byte[] bytes, int root) {
        SingleProcess.checkRoot(root, size);
        try (Arena local = Arena.ofConfined()) {
            MemorySegment s = local.allocate(Math.max(1, bytes.length));
            MemorySegment.copy(bytes, 0, s, JAVA_BYTE, 0, bytes.length);
            call("MPI_Bcast", () -> (int) mpi.bcast.invokeExact(s, bytes.length, mpi.byteType, root, mpi.world));
            byte[] out = new byte[bytes.length];
            MemorySegment.copy(s, JAVA_BYTE, 0, out, 0, bytes.length);
            return out;
        }
    }

    @Override
    public double[] sum(double[] values) {
        long t0 = System.nanoTime();
        try (Arena local = Arena.ofConfined()) {
            MemorySegment s = local.allocate(JAVA_DOUBLE, Math.max(1, values.length));
            MemorySegment.copy(values, 0, s, JAVA_DOUBLE, 0, values.length);
            call("MPI_Allreduce", () -> (int) mpi.allreduce.invokeExact(OpenMpi.IN_PLACE, s, values.length,
                    mpi.doubleType, mpi.sum, mpi.world));
            double[] out = new double[values.length];
            MemorySegment.copy(s, JAVA_DOUBLE, 0, out, 0, values.length);
            tally.add("sum (host)", 8L * values.length, System.nanoTime() - t0, 0);
            return out;
        }
    }

    @Override
    public void barrier() { call("MPI_Barrier", () -> (int) mpi.barrier.invokeExact(mpi.world)); }

    @Override
    public void abort(int exitCode) {
        try {
            int ignored = (int) mpi.abort.invokeExact(mpi.world, exitCode);
        } catch (Throwable t) {
            Runtime.getRuntime().halt(exitCode); // MPI_Abort does not return; if it fails, end this rank at least
        }
    }

    @Override
    public void close() {
        if (closed) return;
        call("MPI_Finalize", () -> (int) mpi.finalizeMpi.invokeExact());
        closed = true;
        arena.close();
    }

    /** Off-heap memory for {@code floats} floats and a Java array as large, grown as needed. */
    private MemorySegment stage(long floats) {
        if (staging.byteSize() < 4 * floats) {
            arena.close(); // the smaller one goes back at once: x_k's gather can be hundreds of MB
            arena = Arena.ofConfined();
            staging = arena.allocate(JAVA_FLOAT, floats);
        }
        if (host.length < floats) host = new float[(int) floats];
        return staging;
    }

    /** MPI counts are C ints. */
    private static int count(String operation, long floats) {
        if (floats > Integer.MAX_VALUE)
            throw new IllegalArgumentException(operation + ": " + floats + " floats exceed MPI's int count");
        return (int) floats;
    }

    @FunctionalInterface
    private interface Call { int run() throws Throwable; }

    private void call(String what, Call c) {
        if (closed) throw new IllegalStateException(what + ": MPI was finalized");
        int code;
        try {
            code = c.run();
        } catch (Throwable t) {
            throw OpenMpi.rethrow(t);
        }
        mpi.check(what + " (rank " + rank + " of " + size + ")", code);
    }
}
