package dev.jmoco.moco;

import dev.jmoco.autograd.Loss;
import dev.jmoco.autograd.Tensor;

/**
 * What a trainer steps: one update on a batch of two views, counted so that a resumed run continues where it
 * stood. The two views are MoCo's two augmentations ({@link ContrastiveStep}) or CMC's L and ab channels of one
 * augmentation ({@link TwoViewMocoStep}).
 */
public sealed interface TrainingStep extends AutoCloseable permits ContrastiveStep, TwoViewMocoStep {
    /**
     * One step on views {@code a} and {@code b} [n, ...] of the same n images, {@code indices} their positions in
     * the data set (for the memory bank; may be null otherwise). Returns the loss and the accuracies.
     *
     * @throws dev.jmoco.autograd.NonFiniteLossException if the loss is not finite, and
     *         {@link LossOutOfRangeException} if it is outside the range InfoNCE can take
     */
    Loss.Stats step(Tensor a, Tensor b, int[] indices);

    /** Steps run so far (the number of the next step). */
    long steps();

    /** Continues a run after {@code steps} steps (restored from a checkpoint). */
    void resumeAt(long steps);

    /** Releases the dictionary (the arenas and optimizers belong to the caller). */
    @Override void close();
}
