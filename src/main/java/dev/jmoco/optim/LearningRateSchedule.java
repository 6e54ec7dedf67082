package dev.jmoco.optim;

/**
 * The learning rate of one SGD step as a function of where the step falls in training. Implementations are
 * immutable and validate their settings when built; {@link #lr} validates its position.
 *
 * <p>Positions: {@code epoch} counts from 0, {@code stepInEpoch} from 0 to {@code stepsPerEpoch - 1}. Schedules
 * that change once per epoch (the reference MoCo ones) ignore the step.
 */
public sealed interface LearningRateSchedule
        permits ConstantSchedule, CosineSchedule, StepSchedule, WarmupSchedule {

    /**
     * The learning rate of step {@code stepInEpoch} of epoch {@code epoch}.
     *
     * @throws IllegalArgumentException if epoch &lt; 0, stepsPerEpoch &lt;= 0 or stepInEpoch is outside
     *                                  [0, stepsPerEpoch), or the epoch lies beyond a schedule of fixed length
     */
    double lr(int epoch, int stepInEpoch, int stepsPerEpoch);

    /** This schedule with a linear warm-up over its first {@code warmupEpochs} epochs (see {@link WarmupSchedule}). */
    default LearningRateSchedule withWarmup(int warmupEpochs) { return new WarmupSchedule(this, warmupEpochs); }
}
