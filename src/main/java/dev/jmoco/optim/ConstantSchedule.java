package dev.jmoco.optim;

/** The same learning rate at every step. */
public record ConstantSchedule(double baseLr) implements LearningRateSchedule {
    public ConstantSchedule {
        ScheduleChecks.base("constant schedule", baseLr);
    }

    @Override
    public double lr(int epoch, int stepInEpoch, int stepsPerEpoch) {
        ScheduleChecks.position("constant schedule", epoch, stepInEpoch, stepsPerEpoch);
        return baseLr;
    }
}
