package dev.jmoco.dist;

import dev.jmoco.backend.Buffer;

import java.util.List;

/**
 * The collectives a data-parallel run needs, over the ranks of one job: every rank calls the same operations in
 * the same order with buffers of the same sizes (an operation blocks until all ranks have called it). Three
 * implementations: {@link SingleProcess} (one rank, no communication), {@link MpiCollective} (MPI over host
 * memory: a device buffer is staged through the host) and {@link NcclCollective} (NCCL on CUDA device memory,
 * its unique id broadcast over MPI). {@link Collectives#open} picks one from how the process was launched.
 *
 * <p>Buffers belong to the backend the collective was opened for. Operations are called from one thread (the
 * training loop). Each operation's calls, bytes and seconds are tallied ({@link #tally()}).
 */
public interface Collective extends AutoCloseable {

    /** This process's rank, 0 .. size - 1. */
    int rank();

    /** The number of ranks in the job. */
    int size();

    /** What carries the data, for messages and {@code jmoco devices}: "one process", "MPI (Open MPI 4.1.4)". */
    String name();

    /** Whether more than one rank takes part (else every operation is a no-op or a copy). */
    default boolean distributed() { return size() > 1; }

    /**
     * Replaces each buffer by its elementwise mean over the ranks, as one collective call over all of them
     * (gradients, batch-norm running statistics). Each rank passes buffers of the same sizes in the same order.
     */
    void allReduceMean(List<Buffer> buffers);

    /**
     * Gathers every rank's {@code send} [m] into {@code recv} [size x m], rank r's at offset r x m, on every
     * rank.
     */
    void allGather(Buffer send, Buffer recv);

    /** Overwrites {@code buffer} on every rank with its contents on rank {@code root}. */
    void broadcast(Buffer buffer, int root);

    /** {@code bytes} as rank {@code root} passed them, on every rank (every rank passes the same length). */
    byte[] broadcast(byte[] bytes, int root);

    /** Elementwise sums of a few host values over the ranks (a step's loss and accuracies, stop requests). */
    double[] sum(double[] values);

    /** Whether any rank passes true (an agreed stop, so that every rank leaves the loop at the same step). */
    default boolean any(boolean value) { return sum(new double[] {value ? 1 : 0})[0] > 0; }

    /** Returns when every rank has called it. */
    void barrier();

    /** Calls, bytes and time of each operation so far. */
    CollectiveTally tally();

    /**
     * Ends the whole job at once after a failure on this rank (the other ranks would otherwise wait in their
     * next collective forever): MPI_Abort; a single process does nothing.
     */
    void abort(int exitCode);

    /** Leaves the job (MPI_Finalize): call on every rank after the last collective, never after a failure. */
    @Override
    void close();
}
