package dev.jmoco.dist;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.cuda.CudaBackend;
import dev.jmoco.backend.cuda.libraries.CudaLibraryUnavailable;
import dev.jmoco.backend.cuda.libraries.Nccl;
import dev.jmoco.trace.Trace;

import java.util.List;

/**
 * Collectives over NCCL on the CUDA backend's device memory: each one is queued on the backend's stream, so it
 * runs after the ops that wrote its buffers and before those that read them, and no buffer is copied through
 * host memory. Rank, size and the host-side operations are the bootstrap's (MPI), which also carried NCCL's
 * unique id from rank 0 to the others.
 *
 * <p>Each device collective waits for the stream before and after it, so the tallied time is the transfer
 * itself (with the wait for the slowest rank), not the work queued before it; staging is always 0.
 * Close it before the backend: destroying the communicator needs the backend's context.
 */
public final class NcclCollective implements Collective {
    private final CudaBackend backend;
    private final Collective bootstrap;
    private final Nccl nccl;
    private final String name;
    private final CollectiveTally tally = new CollectiveTally();
    private boolean closed;

    private NcclCollective(CudaBackend backend, Collective bootstrap, Nccl nccl) {
        this.backend = backend;
        this.bootstrap = bootstrap;
        this.nccl = nccl;
        this.name = "NCCL " + nccl.version() + " (bootstrap over " + bootstrap.name() + ")";
    }

    /**
     * Joins every rank of {@code bootstrap} in one NCCL communicator on {@code backend}'s device and stream: rank
     * 0 creates the unique id, the bootstrap broadcasts it, each rank joins. Every rank either gets a collective
     * or throws: where one rank cannot use NCCL (not found, older than 2.10, its id or its join failed), the
     * others learn it through the bootstrap and refuse too, so all of them take the same fallback. The
     * bootstrap stays the caller's: {@link #close} ends the communicator only.
     *
     * @throws CudaLibraryUnavailable "NCCL not used: ..." on every rank, with this rank's reason or the count of
     *                                ranks that failed
     */
    public static NcclCollective open(CudaBackend backend, Collective bootstrap) {
        int rank = bootstrap.rank(), size = bootstrap.size();
        backend.synchronize(); // also makes the backend's context current on this thread: NCCL joins on that one
        RuntimeException failure = null;
        byte[] id = new byte[Nccl.UNIQUE_ID_BYTES];
        try {
            String version = Nccl.versionOf();
            if (!Nccl.supportsAvg(version))
                failure = Nccl.notUsed("NCCL " + version + " has no ncclAvg (2.10 or later needed)");
            else if (rank == 0) id = Nccl.uniqueId();
        } catch (CudaLibraryUnavailable | IllegalStateException e) {
            failure = notUsed(e);
        }
        // Rank 0 broadcasts even after a failure (zeros), so no rank waits for it forever.
        id = bootstrap.broadcast(id, 0);
        agree(bootstrap, failure, "loading NCCL or creating its unique id");
        Nccl nccl = null;
        try {
            nccl = Nccl.open(size, rank, id, backend.streamHandle());
        } catch (CudaLibraryUnavailable | IllegalStateException e) {
            failure = notUsed(e);
        }
        try {
            agree(bootstrap, failure, "ncclCommInitRank");
        } catch (RuntimeException e) {
            if (nccl != null) abortQuietly(nccl, e);
            throw e;
        }
        return new NcclCollective(backend, bootstrap, nccl);
    }

    /** {@code e} as the exception that makes the caller fall back (a failed status of NCCL, too, at open). */
    private static CudaLibraryUnavailable notUsed(RuntimeException e) {
        return e instanceof CudaLibraryUnavailable u ? u : Nccl.notUsed(e.getMessage());
    }

    /** Throws {@code failure} on its rank, and "NCCL not used: n of N ranks ..." on the others, if any failed. */
    private static void agree(Collective bootstrap, RuntimeException failure, String step) {
        long failed = Math.round(bootstrap.sum(new double[] {failure == null ? 0 : 1})[0]);
        if (failure != null) throw failure;
        if (failed > 0)
            throw Nccl.notUsed(failed + " of " + bootstrap.size() + " ranks failed at " + step + " (see their messages)");
    }

    private static void abortQuietly(Nccl nccl, RuntimeException reason) {
        try {
            nccl.abort();
        } catch (RuntimeException e) {
            reason.addSuppressed(e);
        }
    }

    @Override public int rank() { return bootstrap.rank(); }
    @Override public int size() { return bootstrap.size(); }
    @Override public String name() { return name; }
    @Override public CollectiveTally tally() { return tally; }

    /** One ncclAllReduce with ncclAvg per buffer, in place, all of them in one NCCL group (one fused launch). */
    @Override
    public void allReduceMean(List<Buffer> buffers) {
        long[] addresses = new long[buffers.size()];
        long bytes = 0;
        for (int i = 0; i < addresses.length; i++) {
            addresses[i] = address("all-reduce", buffers.get(i));
            bytes += 4 * buffers.get(i).size();
        }
        timed("all-reduce", bytes, () -> {
            nccl.groupStart();
            RuntimeException failure = null;
            try {
                for (int i = 0; i < addresses.length; i++) {
                    long count = buffers.get(i).size();
                    if (count > 0) nccl.allReduceAvg(addresses[i], addresses[i], count);
                }
            } catch (RuntimeException e) {
                failure = e;
            }
            try {
                nccl.groupEnd();
            } catch (RuntimeException e) {
                if (failure == null) failure = e;
                else failure.addSuppressed(e);
            }
            if (failure != null) throw failure;
        });
    }

    @Override
    public void allGather(Buffer send, Buffer recv) {
        int size = size();
        if (recv.size() != send.size() * size)
            throw new IllegalArgumentException("all-gather: receive buffer of " + recv.size() + " floats, not " + size
                    + " ranks x " + send.size());
        long s = address("all-gather", send), r = address("all-gather", recv);
        timed("all-gather", 4 * send.size(), () -> {
            if (send.size() > 0) nccl.allGather(s, r, send.size());
        });
    }

    @Override
    public void broadcast(Buffer buffer, int root) {
        SingleProcess.checkRoot(root, size());
        long a = address("broadcast", buffer);
        timed("broadcast", 4 * buffer.size(), () -> {
            if (buffer.size() > 0) nccl.broadcast(a, a, buffer.size(), root);
        });
    }

    @Override public byte[] broadcast(byte[] bytes, int root) { return bootstrap.broadcast(bytes, root); }

    @Override
    public double[] sum(double[] values) {
        long t0 = System.nanoTime();
        double[] out = bootstrap.sum(values);
        tally.add("sum (host)", 8L * values.length, System.nanoTime() - t0, 0);
        return out;
    }

    @Override public void barrier() { bootstrap.barrier(); }

    /** Aborts the communicator (so this rank's stream is not left waiting on its peers), then the bootstrap's job. */
    @Override
    public void abort(int exitCode) {
        try {
            nccl.abort();
        } catch (RuntimeException e) {
            // the job is ending: the bootstrap's abort matters more
        }
        bootstrap.abort(exitCode);
    }

    /** Waits for the stream, destroys the communicator, then closes the bootstrap (even if the first failed). */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        backend.synchronize();
        nccl.close(); // the bootstrap is the job's, closed by its owner after the last collective
    }

    /** The device address of {@code b}, refusing a buffer of another backend by its name. */
    private long address(String operation, Buffer b) {
        if (closed) throw new IllegalStateException(operation + " over NCCL after close");
        if (b.backend() != backend)
            throw new IllegalArgumentException(operation + " over NCCL: buffer " + b + " belongs to backend "
                    + b.backend().name() + " (" + b.backend() + "), not to this collective's " + backend);
        return backend.deviceAddress(b);
    }

    /** Runs {@code collective} between two waits for the stream and tallies the time between them. */
    private void timed(String operation, long bytes, Runnable collective) {
        try (Trace.Scope scope = Trace.scope(operation + " (NCCL)", "transfer")) {
            backend.synchronize();
            long t0 = System.nanoTime();
            collective.run();
            backend.synchronize();
            long nanos = System.nanoTime() - t0;
            nccl.checkAsyncError();
            tally.add(operation, bytes, nanos, 0);
        }
    }
}
