package dev.jmoco.train;

import dev.jmoco.autograd.Loss;
import dev.jmoco.data.Loader;

/** An epoch of training: its batches, and its steps so far with the sums of their loss and accuracies. */
final class EpochTally {
    final Loader.Epoch batches;
    private final Loader loader;
    private final long start, skippedBefore;
    private int steps;
    private double lossSum, acc1Sum, acc5Sum, lastLr;

    /** Epoch {@code epoch} (0-based) from where {@code p} left it (NONE: from its start). */
    EpochTally(Loader loader, int epoch, Checkpoint.EpochProgress p) {
        this.loader = loader;
        skippedBefore = loader.skippedImages();
        batches = loader.epoch(epoch, p.steps());
        steps = p.steps();
        lossSum = p.lossSum();
        acc1Sum = p.acc1Sum();
        acc5Sum = p.acc5Sum();
        start = System.nanoTime() - (long) (p.seconds() * 1e9); // a resumed epoch's images/s counts its earlier part
    }

    /** Steps done in this epoch. */
    int steps() { return steps; }

    void add(Loss.Stats stats, double lr) {
        steps++;
        lossSum += stats.loss();
        acc1Sum += stats.acc1();
        acc5Sum += stats.acc5();
        lastLr = lr;
    }

    double imagesPerSecond(int batch) { return (double) steps * batch / seconds(); }

    /** Where it stands, for a mid-epoch checkpoint. */
    Checkpoint.EpochProgress progress() {
        return new Checkpoint.EpochProgress(steps, lossSum, acc1Sum, acc5Sum, seconds());
    }

    /** Images of this epoch that could not be decoded and were replaced (this rank's share). */
    long skippedImages() { return loader.skippedImages() - skippedBefore; }

    /**
     * The finished epoch's result: the means over its steps, and the numbers the trainer measured;
     * {@code skipped} the epoch's undecodable images (over every rank of a data-parallel run).
     */
    EpochResult result(int epoch, long globalStep, double imagesPerSecond, double knn, double knnSeconds,
                       double wallSeconds, long skipped) {
        return new EpochResult(epoch, globalStep, lossSum / steps, acc1Sum / steps, acc5Sum / steps, lastLr,
                imagesPerSecond, knn, knnSeconds, seconds(), wallSeconds, skipped);
    }

    private double seconds() { return (System.nanoTime() - start) / 1e9; }
}
