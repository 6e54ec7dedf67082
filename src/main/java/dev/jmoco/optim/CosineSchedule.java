package dev.jmoco.optim;

/**
 * Cosine decay from {@code baseLr} towards 0 over {@code epochs} epochs (SGDR without restarts, Loshchilov and
 * Hutter 2017). With {@code perStep} false it is MoCo v2's reference schedule, constant within an epoch:
 * {@code lr = baseLr * 0.5 * (1 + cos(pi * epoch / epochs))}, so the first epoch runs at baseLr and the last
 * one above 0. With {@code perStep} true the epoch is fractional, {@code epoch + stepInEpoch / stepsPerEpoch},
 * and the rate falls smoothly within each epoch.
 */
public record CosineSchedule(double baseLr, int epochs, boolean perStep) implements LearningRateSchedule {
    public CosineSchedule {
        ScheduleChecks.base("cosine schedule", baseLr);
        if (epochs <= 0) throw new IllegalArgumentException("cosine schedule: epochs must be > 0, got " + epochs);
    }

    /** The reference MoCo v2 schedule (per epoch). */
    public static CosineSchedule perEpoch(double baseLr, int epochs) {
        return new CosineSchedule(baseLr, epochs, false);
    }

    /** Cosine evaluated at every step. */
    public static CosineSchedule perStep(double baseLr, int epochs) { return new CosineSchedule(baseLr, epochs, true); }

    @Override
    public double lr(int epoch, int stepInEpoch, int stepsPerEpoch) {
        ScheduleChecks.position("cosine schedule", epoch, stepInEpoch, stepsPerEpoch);
        // Past the end the cosine would rise again: a caller asking for it has its epoch count wrong.
        if (epoch >= epochs)
            throw new IllegalArgumentException("cosine schedule: epoch " + epoch + " outside [0, " + epochs + ")");
        double progress = perStep ? epoch + (double) stepInEpoch / stepsPerEpoch : epoch;
        return baseLr * 0.5 * (1 + Math.cos(Math.PI * progress / epochs));
    }
}
