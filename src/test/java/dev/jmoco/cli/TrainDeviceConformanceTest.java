package dev.jmoco.cli;

import dev.jmoco.backend.conformance.ConformanceBackends;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end on every backend under test (the conformance suite's targets, PoCL's CPU device in CI): a short
 * MoCo run through {@code jmoco train --device D} on a Fashion-MNIST subset gives the CPU backend's loss curve.
 * Same seed, so same weights, batches, shuffles and queue: only the order of float sums differs, and that
 * difference grows as training feeds it back. Tolerance: |loss_D - loss_cpu| &lt;= 2e-4 (1 + step) relative to
 * the loss (~ln(K + 1) = 5.5), i.e. float rounding at step 1 and a drift of the same order per step after.
 */
class TrainDeviceConformanceTest {
    @RegisterExtension
    static final ConformanceBackends BACKENDS = new ConformanceBackends();

    private static final int STEPS = 16;

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void lossCurveMatchesTheCpuBackend(ConformanceBackends.Target target, @TempDir Path dir) throws IOException {
        double[] cpu = stepLosses("cpu", dir.resolve("cpu"));
        double[] device = stepLosses(target.name(), dir.resolve("device"));
        double worst = 0;
        int worstStep = 0;
        for (int s = 0; s < STEPS; s++) {
            double ratio = Math.abs(device[s] - cpu[s]) / (2e-4 * (1 + s) * Math.abs(cpu[s]));
            if (ratio > worst) { worst = ratio; worstStep = s; }
        }
        assertTrue(worst <= 1, target.name() + ": loss at step " + (worstStep + 1) + " is " + device[worstStep]
                + ", cpu " + cpu[worstStep] + " (" + String.format("%.2f", worst) + "x the tolerance)");
        System.out.printf("%s vs cpu: worst loss difference %.2fx the tolerance (step %d: %.6f vs %.6f)%n",
                target.name(), worst, worstStep + 1, device[worstStep], cpu[worstStep]);
    }

    /** Runs 2 epochs of 8 steps (512 images, batch 64, K 256) and reads each step's loss from metrics.csv. */
    private static double[] stepLosses(String device, Path out) throws IOException {
        CliRun r = CliRun.of("train", "--device", device, "--limit-train", "512", "--batch", "64", "--queue", "256",
                "--epochs", "2", "--knn-every", "0", "--log-every", "1", "--workers", "1", "--out", out.toString());
        assertEquals(0, r.code(), device + ": " + r.err());
        double[] losses = Files.readAllLines(out.resolve("metrics.csv")).stream()
                .filter(l -> l.startsWith("step,")).mapToDouble(l -> Double.parseDouble(l.split(",")[3])).toArray();
        assertEquals(STEPS, losses.length, device + ": step rows in metrics.csv");
        return losses;
    }
}
