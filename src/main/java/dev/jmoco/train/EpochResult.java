package dev.jmoco.train;

/**
 * One finished epoch.
 *
 * @param epoch           its number, from 1
 * @param globalStep      steps run from the start of training to its end
 * @param meanLoss        the mean loss over its steps
 * @param meanAcc1        the mean acc@1 of the positive over its steps
 * @param meanAcc5        the mean acc@5
 * @param lr              the learning rate of its last step
 * @param imagesPerSecond images trained per second of its wall time, data loading included (kNN excluded)
 * @param knnAccuracy     kNN top-1 accuracy on the test split after it, or NaN when the monitor did not run
 * @param knnSeconds      the time the kNN monitor took after it (0 when it did not run; NaN when read back
 *                        from metrics.csv, which does not record it)
 * @param seconds         its wall time, kNN included
 * @param wallSeconds     training wall time from the start of the run (over resumes) to its end
 */
public record EpochResult(int epoch, long globalStep, double meanLoss, double meanAcc1, double meanAcc5, double lr,
                          double imagesPerSecond, double knnAccuracy, double knnSeconds, double seconds,
                          double wallSeconds) {}
