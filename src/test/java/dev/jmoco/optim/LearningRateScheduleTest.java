package dev.jmoco.optim;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Schedules against values computed by hand and against a line-by-line port of the reference
 * {@code adjust_learning_rate} (facebookresearch/moco main_moco.py). Tolerance: 1e-15 relative (a few double
 * roundings; the schedules compute in double).
 */
class LearningRateScheduleTest {
    private static final double REL = 1e-15;

    private static void near(double expected, double actual) {
        assertEquals(expected, actual, REL * Math.abs(expected), "lr");
    }

    /** The reference, ported from Python: {@code lr *= 0.5 * (1 + cos(pi * epoch / epochs))} or x0.1 per milestone. */
    private static double referenceAdjust(double lr, int epoch, int epochs, boolean cos, int[] schedule) {
        if (cos) {
            lr *= 0.5 * (1. + Math.cos(Math.PI * epoch / epochs));
        } else {
            for (int milestone : schedule) lr *= epoch >= milestone ? 0.1 : 1.;
        }
        return lr;
    }

    @Test
    void constantIsConstant() {
        var s = new ConstantSchedule(0.25);
        assertEquals(0.25, s.lr(0, 0, 1));
        assertEquals(0.25, s.lr(1000, 7, 8));
    }

    @Test
    void cosinePerEpochHandValues() {
        var s = CosineSchedule.perEpoch(0.03, 200);
        near(0.03, s.lr(0, 0, 100));
        near(0.03, s.lr(0, 99, 100));                      // constant within the epoch
        near(0.025606601717798213, s.lr(50, 3, 100));       // 0.015 (1 + cos(pi / 4))
        near(0.015, s.lr(100, 0, 100));                    // cos(pi / 2) = 0
        near(0.004393398282201787, s.lr(150, 0, 100));      // 0.015 (1 - cos(pi / 4))
        near(1.8505127750911841e-06, s.lr(199, 0, 100));     // 0.015 (1 + cos(pi 199 / 200)), last epoch > 0
    }

    @Test
    void cosinePerStepHandValues() {
        var s = CosineSchedule.perStep(1.0, 2);
        near(1.0, s.lr(0, 0, 4));
        near(0.8535533905932737, s.lr(0, 2, 4));            // progress 0.5 of 2: 0.5 (1 + cos(pi / 4))
        near(0.5, s.lr(1, 0, 4));
        near(0.038060233744356624, s.lr(1, 3, 4));          // progress 1.75: 0.5 (1 + cos(7 pi / 8))
    }

    @Test
    void stepHandValues() {
        var s = StepSchedule.mocoV1(0.03);
        near(0.03, s.lr(0, 0, 10));
        near(0.03, s.lr(119, 9, 10));
        near(0.003, s.lr(120, 0, 10));
        near(0.003, s.lr(159, 0, 10));
        near(0.0003, s.lr(160, 0, 10));
        near(0.0003, s.lr(500, 0, 10));
        near(0.5 * 0.5, new StepSchedule(1, new int[] {2, 3}, 0.5).lr(4, 0, 1));
    }

    @Test
    void matchesReferenceAdjustLearningRateEveryEpoch() {
        int[] milestones = {120, 160};
        var cos = CosineSchedule.perEpoch(0.06, 200);
        var step = new StepSchedule(0.06, milestones, 0.1);
        for (int epoch = 0; epoch < 200; epoch++) {
            // exact equality: the same double operations in the same order
            assertEquals(referenceAdjust(0.06, epoch, 200, true, milestones), cos.lr(epoch, 5, 10), "cos " + epoch);
            assertEquals(referenceAdjust(0.06, epoch, 200, false, milestones), step.lr(epoch, 5, 10), "step " + epoch);
        }
    }

    @Test
    void warmupRisesLinearlyPerStepThenHandsOver() {
        var s = new ConstantSchedule(0.1).withWarmup(2);   // 2 epochs x 5 steps = 10 warm-up steps
        near(0.01, s.lr(0, 0, 5));                         // (0 + 1) / 10
        near(0.05, s.lr(0, 4, 5));                         // (4 + 1) / 10
        near(0.06, s.lr(1, 0, 5));                         // (5 + 1) / 10
        near(0.1, s.lr(1, 4, 5));                          // reaches the base at the last warm-up step
        near(0.1, s.lr(2, 0, 5));
        var cos = CosineSchedule.perEpoch(0.2, 10).withWarmup(1);
        near(0.2 * 0.5 * (1 + Math.cos(Math.PI / 10)), cos.lr(1, 0, 4)); // unshifted cosine after warm-up
        near(0.2 * 2 / 4, cos.lr(0, 1, 4));
        assertEquals(0.1, new ConstantSchedule(0.1).withWarmup(0).lr(0, 0, 3));
    }

    @Test
    void warmupIsMonotoneAndContinuousIntoStepSchedule() {
        var s = StepSchedule.mocoV1(0.03).withWarmup(5);
        double previous = 0;
        for (int e = 0; e < 5; e++)
            for (int i = 0; i < 7; i++) {
                double lr = s.lr(e, i, 7);
                assertTrue(lr > previous, "warm-up must rise at epoch " + e + " step " + i);
                previous = lr;
            }
        near(0.03, previous);
        near(0.03, s.lr(5, 0, 7));
    }

    @Test
    void linearScalingRule() {
        near(0.06, LinearScaling.lr(0.03, 512));
        near(0.03, LinearScaling.lr(0.03, 256));
        near(0.0075, LinearScaling.lr(0.03, 64));
    }

    @Test
    void badSettingsAndPositionsNameTheArgument() {
        assertMessage("epochs must be > 0, got 0", () -> CosineSchedule.perEpoch(0.1, 0));
        assertMessage("base learning rate must be finite and >= 0, got -1.0", () -> new ConstantSchedule(-1));
        assertMessage("NaN", () -> new ConstantSchedule(Double.NaN));
        assertMessage("milestones must increase, got [160, 120]", () -> new StepSchedule(1, new int[] {160, 120}, 0.1));
        assertMessage("milestone 0 must be > 0", () -> new StepSchedule(1, new int[] {0}, 0.1));
        assertMessage("gamma must be finite and > 0, got 0.0", () -> new StepSchedule(1, new int[] {1}, 0));
        assertMessage("warmupEpochs must be >= 0, got -1", () -> new ConstantSchedule(1).withWarmup(-1));
        assertMessage("batchSize must be > 0, got 0", () -> LinearScaling.lr(0.03, 0));
        var s = CosineSchedule.perStep(0.1, 10);
        assertMessage("epoch 10 outside [0, 10)", () -> s.lr(10, 0, 5));
        assertMessage("epoch must be >= 0, got -1", () -> s.lr(-1, 0, 5));
        assertMessage("stepInEpoch 5 outside [0, 5)", () -> s.lr(0, 5, 5));
        assertMessage("stepsPerEpoch must be > 0, got 0", () -> new ConstantSchedule(1).lr(0, 0, 0));
        assertMessage("stepInEpoch -1 outside [0, 3)", () -> new ConstantSchedule(1).withWarmup(2).lr(0, -1, 3));
    }

    @Test
    void stepScheduleDoesNotShareItsMilestones() {
        int[] m = {3, 6};
        var s = new StepSchedule(1, m, 0.1);
        m[0] = 100;
        s.milestones()[1] = 100;
        near(0.1, s.lr(3, 0, 1));
        near(0.01, s.lr(6, 0, 1));
        assertEquals(s, new StepSchedule(1, new int[] {3, 6}, 0.1));
    }

    private static void assertMessage(String part, org.junit.jupiter.api.function.Executable call) {
        var e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(part), "message '" + e.getMessage() + "' should contain '" + part + "'");
    }
}
