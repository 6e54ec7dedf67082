package dev.jmoco.optim;

/** Argument checks shared by the schedules, so every schedule names its arguments the same way. */
final class ScheduleChecks {
    private ScheduleChecks() {}

    /** Throws unless epoch &gt;= 0, stepsPerEpoch &gt; 0 and stepInEpoch lies in [0, stepsPerEpoch). */
    static void position(String schedule, int epoch, int stepInEpoch, int stepsPerEpoch) {
        if (epoch < 0) throw new IllegalArgumentException(schedule + ": epoch must be >= 0, got " + epoch);
        if (stepsPerEpoch <= 0)
            throw new IllegalArgumentException(schedule + ": stepsPerEpoch must be > 0, got " + stepsPerEpoch);
        if (stepInEpoch < 0 || stepInEpoch >= stepsPerEpoch)
            throw new IllegalArgumentException(schedule + ": stepInEpoch " + stepInEpoch + " outside [0, "
                    + stepsPerEpoch + ")");
    }

    /** Throws unless the base learning rate is finite and &gt;= 0. */
    static void base(String schedule, double baseLr) {
        if (!(baseLr >= 0) || Double.isInfinite(baseLr))
            throw new IllegalArgumentException(schedule + ": base learning rate must be finite and >= 0, got "
                    + baseLr);
    }
}
