package dev.jmoco.optim;

import java.util.Arrays;

/**
 * Step decay: the rate is multiplied by {@code gamma} at each milestone epoch, as the reference MoCo v1
 * schedule ({@code lr *= 0.1 if epoch >= milestone} for milestones 120 and 160 of 200 epochs).
 */
public record StepSchedule(double baseLr, int[] milestones, double gamma) implements LearningRateSchedule {
    public StepSchedule {
        ScheduleChecks.base("step schedule", baseLr);
        if (!(gamma > 0) || Double.isInfinite(gamma))
            throw new IllegalArgumentException("step schedule: gamma must be finite and > 0, got " + gamma);
        milestones = milestones.clone();
        for (int i = 0; i < milestones.length; i++) {
            if (milestones[i] <= 0)
                throw new IllegalArgumentException("step schedule: milestone " + milestones[i] + " must be > 0");
            if (i > 0 && milestones[i] <= milestones[i - 1])
                throw new IllegalArgumentException("step schedule: milestones must increase, got "
                        + Arrays.toString(milestones));
        }
    }

    /** MoCo v1's schedule: x0.1 at epochs 120 and 160. */
    public static StepSchedule mocoV1(double baseLr) { return new StepSchedule(baseLr, new int[] {120, 160}, 0.1); }

    @Override
    public int[] milestones() { return milestones.clone(); }

    @Override
    public double lr(int epoch, int stepInEpoch, int stepsPerEpoch) {
        ScheduleChecks.position("step schedule", epoch, stepInEpoch, stepsPerEpoch);
        double lr = baseLr;
        for (int m : milestones) if (epoch >= m) lr *= gamma;  // the reference's loop, factor by factor
        return lr;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StepSchedule s && baseLr == s.baseLr && gamma == s.gamma
                && Arrays.equals(milestones, s.milestones);
    }

    @Override
    public int hashCode() { return Double.hashCode(baseLr) * 31 + Arrays.hashCode(milestones); }

    @Override
    public String toString() {
        return "StepSchedule[baseLr=" + baseLr + ", milestones=" + Arrays.toString(milestones) + ", gamma=" + gamma
                + "]";
    }
}
