package dev.jmoco.train;

import dev.jmoco.autograd.Loss;

/**
 * Progress of a {@link Trainer}, called on the training thread. Epochs are numbered from 1, steps within an
 * epoch from 1 to {@code stepsPerEpoch}. Both methods do nothing by default.
 */
public interface TrainListener {

    /**
     * After each step: its loss and accuracies, the throughput of the epoch so far (images per second of wall
     * time, data loading included) and the learning rate the step used.
     */
    default void onStep(int epoch, int step, int stepsPerEpoch, Loss.Stats stats, double imagesPerSecond,
                        double lr) {}

    /**
     * After each epoch, once its checkpoint is written: the mean loss over its steps, the kNN accuracy (NaN when
     * the monitor did not run this epoch) and the epoch's wall time in seconds (kNN included).
     */
    default void onEpoch(int epoch, double meanLoss, double knnAccuracy, double seconds) {}
}
