package dev.jmoco.moco;

import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.Backend;
import dev.jmoco.trace.Trace;
import dev.jmoco.trace.Work;

import java.util.Arrays;

/**
 * MoCo's dictionary: a ring buffer of {@code capacity} keys [capacity, dim] on the backend (one key per row;
 * the reference stores the transpose, [dim, K]) and the pointer of the next row to write.
 *
 * <h2>Invariants (after ArrayBlockingQueue's putIndex)</h2>
 * <ul>
 *   <li>{@code 0 <= pointer < capacity}. The queue is always full: it starts with {@code capacity} random unit
 *       keys, and every enqueue overwrites the oldest ones.</li>
 *   <li>Age order: rows {@code pointer, pointer + 1, ..., capacity - 1, 0, ..., pointer - 1} run from the
 *       oldest key to the newest. Row {@code pointer} is the next to be overwritten.</li>
 *   <li>{@link #enqueue} of n keys (1 &lt;= n &lt;= capacity) writes key i to row {@code (pointer + i) mod
 *       capacity}, wrapping past the last row to row 0, then sets {@code pointer = (pointer + n) mod capacity}.
 *       The reference asserts {@code K % n == 0} so that its slice write never wraps; with the wrap any
 *       n &lt;= K works (a last, smaller batch of an epoch included), and where K % n == 0 both agree.</li>
 * </ul>
 * The loss reads {@link #keys()} as negatives before the step's keys are enqueued.
 */
public final class KeyQueue implements AutoCloseable {
    private final Backend backend;
    private final int capacity, dim;
    private final Tensor keys;
    private int pointer;

    private KeyQueue(Backend backend, int capacity, int dim, float[] initial) {
        this.backend = backend;
        this.capacity = capacity;
        this.dim = dim;
        this.keys = Tensor.fromArray(backend, initial, capacity, dim).named("queue");
    }

    /**
     * A queue of {@code capacity} keys drawn from N(0, 1) and normalised to unit length, seeded (as the
     * reference initialises it), with the pointer at 0.
     */
    public static KeyQueue random(Backend backend, int capacity, int dim, long seed) {
        if (capacity < 1 || dim < 1)
            throw new IllegalArgumentException("queue: capacity " + capacity + " and dim " + dim + " must be >= 1");
        return new KeyQueue(backend, capacity, dim, UnitRows.gaussian(capacity, dim, seed));
    }

    public int capacity() { return capacity; }
    public int dim() { return dim; }

    /** The row the next enqueue writes first (the oldest key). */
    public int pointer() { return pointer; }

    /** The keys [capacity, dim] as a tensor (no gradient); InfoNCE reads them as negatives. */
    public Tensor keys() { return keys; }

    /**
     * Writes the rows of {@code k} [n, dim] over the n oldest keys, wrapping at the end, and advances the
     * pointer (see the class invariants).
     *
     * @throws IllegalArgumentException if k is not [n, dim] or n &gt; capacity (the message names both)
     */
    public void enqueue(Tensor k) {
        if (k.rank() != 2 || k.dim(1) != dim)
            throw new IllegalArgumentException("queue: keys " + Arrays.toString(k.shape())
                    + " do not match the queue's key dim " + dim + " (queue [" + capacity + ", " + dim + "])");
        int n = k.dim(0);
        if (n > capacity)
            throw new IllegalArgumentException("queue: cannot enqueue " + n + " keys into a queue of " + capacity
                    + " (the batch must not exceed the queue size)");
        try (Trace.Scope slice = Trace.scope("enqueue", "update")) {
            backend.enqueue(keys.data(), capacity, dim, k.data(), n, pointer);
            slice.work(Work.streaming(2.0 * n * dim));
        }
        pointer = (pointer + n) % capacity;
    }

    /** A copy of the keys, row-major [capacity, dim] (for checkpoints; waits for queued work). */
    public float[] toArray() { return keys.toArray(); }

    /** Restores keys and pointer (from a checkpoint). */
    public void load(float[] values, int pointer) {
        if (pointer < 0 || pointer >= capacity)
            throw new IllegalArgumentException("queue: pointer " + pointer + " outside 0.." + (capacity - 1));
        keys.copyFrom(values);
        this.pointer = pointer;
    }

    @Override
    public void close() { keys.close(); }
}
