package dev.jmoco.moco;

import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;

import java.util.Arrays;

/**
 * The memory bank of Wu et al. 2018 (the MoCo paper's baseline): one stored unit feature per dataset image,
 * [size, dim] on the backend. A step reads entries ({@link #rows}) as the positives of its samples and as
 * sampled negatives, and then refreshes its samples' entries with their new queries ({@link #update}).
 */
public final class MemoryBank implements AutoCloseable {
    private final Backend backend;
    private final int size, dim;
    private final Tensor features;

    private MemoryBank(Backend backend, int size, int dim, float[] initial) {
        this.backend = backend;
        this.size = size;
        this.dim = dim;
        this.features = Tensor.fromArray(backend, initial, size, dim).named("memory_bank");
    }

    /** A bank of {@code size} random unit features (Gaussian, normalised, seeded). */
    public static MemoryBank random(Backend backend, int size, int dim, long seed) {
        if (size < 1 || dim < 1)
            throw new IllegalArgumentException("memory bank: size " + size + " and dim " + dim + " must be >= 1");
        return new MemoryBank(backend, size, dim, UnitRows.gaussian(size, dim, seed));
    }

    public int size() { return size; }
    public int dim() { return dim; }

    /** The features [size, dim]. */
    public Tensor features() { return features; }

    /** Entries {@code index} as a new [index.length, dim] tensor without gradient (owned by the current tape). */
    public Tensor rows(int[] index) { return Ops.gatherRows(features, index); }

    /**
     * v = normalize(momentum v + (1 - momentum) q) for the entries {@code index} of the batch's queries
     * q [n, dim] (normalised, their values only: no gradient flows into the bank). Gather, add, normalise and
     * scatter on the backend, through pooled scratch.
     *
     * @throws IllegalArgumentException if q is not [index.length, dim], an index is outside the bank or
     *         appears twice (its refreshed value would be ambiguous)
     */
    public void update(int[] index, Tensor q, float momentum) {
        if (q.rank() != 2 || q.dim(0) != index.length || q.dim(1) != dim)
            throw new IllegalArgumentException("memory bank: queries " + Arrays.toString(q.shape()) + " do not match "
                    + index.length + " indices x bank dim " + dim);
        checkIndices(index);
        int n = index.length;
        try (Buffer v = backend.allocate((long) n * dim); Buffer y = backend.allocate((long) n * dim);
             Buffer norms = backend.allocate(n)) {
            backend.gatherRows(dim, features.data(), index, v);
            backend.add(momentum, v, 1 - momentum, q.data(), v);
            backend.l2NormalizeRows(n, dim, v, y, norms);
            backend.scatterRows(dim, y, index, features.data(), false);
        }
    }

    /** A copy of the features, row-major [size, dim] (for checkpoints). */
    public float[] toArray() { return features.toArray(); }

    /** Restores the features (from a checkpoint). */
    public void load(float[] values) { features.copyFrom(values); }

    @Override
    public void close() { features.close(); }

    /** Every index inside the bank and none twice (a batch's entries are refreshed once each). */
    void checkIndices(int[] index) {
        int[] sorted = index.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) {
            if (sorted[i] < 0 || sorted[i] >= size)
                throw new IllegalArgumentException("memory bank: index " + sorted[i] + " outside the " + size
                        + " entries");
            if (i > 0 && sorted[i] == sorted[i - 1])
                throw new IllegalArgumentException("memory bank: index " + sorted[i] + " appears twice in one batch");
        }
    }
}
