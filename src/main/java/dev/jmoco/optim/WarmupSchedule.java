package dev.jmoco.optim;

/**
 * A linear warm-up in front of another schedule (Goyal et al. 2017, "gradual warm-up"): during the first
 * {@code warmupEpochs} epochs, step s (counted over the whole run from 0) gets
 * {@code after.lr(...) * (s + 1) / (warmupEpochs * stepsPerEpoch)}, rising per step to the wrapped schedule's
 * value at the last warm-up step; afterwards the wrapped schedule alone. The wrapped schedule is not shifted:
 * a cosine over E epochs still ends at epoch E. Counting from s + 1 means the first step already moves the
 * weights (MoCo v3's variant starts at 0, which wastes a step).
 */
public record WarmupSchedule(LearningRateSchedule after, int warmupEpochs) implements LearningRateSchedule {
    public WarmupSchedule {
        if (after == null) throw new IllegalArgumentException("warm-up: the schedule after warm-up is null");
        if (warmupEpochs < 0)
            throw new IllegalArgumentException("warm-up: warmupEpochs must be >= 0, got " + warmupEpochs);
    }

    @Override
    public double lr(int epoch, int stepInEpoch, int stepsPerEpoch) {
        double lr = after.lr(epoch, stepInEpoch, stepsPerEpoch); // validates the position
        if (epoch >= warmupEpochs) return lr;
        long step = (long) epoch * stepsPerEpoch + stepInEpoch;
        return lr * (step + 1) / ((double) warmupEpochs * stepsPerEpoch);
    }
}
