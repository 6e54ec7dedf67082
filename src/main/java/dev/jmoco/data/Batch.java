package dev.jmoco.data;

/**
 * One batch delivered by a {@link Loader}: {@link #size()} samples, each with its augmented views (float CHW,
 * normalized), its label and its index in the data set. The arrays are the loader's reusable buffers and may
 * be longer than the batch (the last batch of an epoch can be short): only the first size x viewLength
 * floats of a view and the first size labels and indices are valid. {@link #close()} hands the buffers back
 * for reuse; a batch must not be read after that.
 */
public final class Batch implements AutoCloseable {
    private final Loader owner;
    private final float[][] views;
    private final int[] labels;
    private final int[] indices;
    private int epoch, index, size;
    private long waitNanos;
    // preparation state, guarded by this
    private int pendingChunks;
    private Throwable failure;
    private boolean released;

    /** Buffers of {@code capacity} samples; view v holds {@code viewLengths[v]} floats per sample. */
    Batch(Loader owner, int[] viewLengths, int capacity) {
        this.owner = owner;
        this.views = new float[viewLengths.length][];
        for (int v = 0; v < views.length; v++) views[v] = new float[capacity * viewLengths[v]];
        this.labels = new int[capacity];
        this.indices = new int[capacity];
    }

    /** The epoch this batch belongs to. */
    public int epoch() { return epoch; }

    /** Position of this batch in its epoch, from 0. */
    public int index() { return index; }

    /** Number of valid samples. */
    public int size() { return size; }

    /** Number of views per sample (2 for training, 1 for evaluation). */
    public int viewCount() { return views.length; }

    /** View {@code v} of every sample: [capacity, C, H, W], the first size samples valid. */
    public float[] view(int v) { return views[v]; }

    /** Labels of the samples (first size valid). */
    public int[] labels() { return labels; }

    /** Data set indices of the samples (first size valid). */
    public int[] indices() { return indices; }

    /** How long the consumer waited for this batch to be ready, in nanoseconds. */
    public long waitNanos() { return waitNanos; }

    /** Returns the buffers to the loader for reuse; idempotent. */
    @Override public void close() {
        synchronized (this) {
            if (released) return;
            released = true;
        }
        owner.recycle(this);
    }

    /** Resets for a new preparation of {@code chunks} chunks. */
    synchronized void start(int epoch, int index, int size, int chunks) {
        this.epoch = epoch;
        this.index = index;
        this.size = size;
        this.pendingChunks = chunks;
        this.failure = null;
        this.released = false;
        this.waitNanos = 0;
    }

    /** A worker finished a chunk, with {@code error} null on success. */
    synchronized void chunkDone(Throwable error) {
        if (error != null && failure == null) failure = error;
        if (--pendingChunks == 0) notifyAll();
    }

    /** Blocks until every chunk is done; returns the first worker failure or null. */
    synchronized Throwable awaitReady() {
        boolean interrupted = false;
        while (pendingChunks > 0) {
            try {
                wait();
            } catch (InterruptedException e) {
                interrupted = true; // the workers will finish; keep the buffers consistent, then re-flag
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        return failure;
    }

    void setWaitNanos(long nanos) { this.waitNanos = nanos; }

    int capacity() { return labels.length; }
}
