package dev.jmoco.dist;

import dev.jmoco.cli.Main;
import dev.jmoco.testing.ChildJvm;
import dev.jmoco.testing.ColourFolder;
import dev.jmoco.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Data-parallel MoCo on 2 real MPI ranks on this machine (mpirun, Open MPI), against one process: N ranks with
 * S BN splits are one process with N x S splits on the same global batch and seed; the ranks stay identical bit
 * for bit; a rank killed mid-run ends the job, and its last checkpoint resumes on 2 ranks to the very numbers
 * of an uninterrupted run.
 */
class DataParallelTest {
    private static final int STEPS = 4;
    /**
     * The ranks sum gradients in another order than one process's backward (each rank's mean over 32, then the
     * mean of the two, against one mean over 64): float rounding. After one step f_q differs by that rounding
     * alone (measured 1.7e-7, against up to 2e-3 that the step moved it); the steps that follow amplify it, as any
     * change of summation order does in a ReLU network whose inputs hold large constant areas (Fashion-MNIST's
     * black background: a whole area crosses a ReLU kink or not): after 4 steps measured 6.8e-5 in f_q,
     * 7.8e-5 in its running statistics, 4.7e-6 in the queue, 2.4e-7 relative in the loss (AVX2, Zen 3). With
     * 512-bit vectors (Zen 4, AVX-512) the kernels' blocking and so the rounding differ more: 4.0e-6 after one
     * step, 6.6e-5 relative in the loss after 4. The tolerances sit above both; a missing all-reduce, a wrong
     * shard or a wrong shuffle moves f_q by about the step itself (measured 2.1e-3 to 4.1e-3, checked to exceed
     * 100 x the first-step tolerance) and the loss by percents.
     */
    private static final double FIRST_STEP_TOLERANCE = 1e-5, LOSS_TOLERANCE = 5e-4, STATE_TOLERANCE = 1e-3;

    @ParameterizedTest(name = "symmetric {0}, lab views {1}")
    @CsvSource({"false, false", "true, false", "false, true"})
    void twoRanksWithTwoSplitsEachAreOneProcessWithFour(boolean symmetric, boolean lab, @TempDir Path dir)
            throws Exception {
        // lab: CMC's two encoders and queues, each state array L's and ab's together (DataParallelSteps)
        Path labData = lab ? ColourFolder.write(dir.resolve("colour"), 172, 3) : null; // 516 training images
        List<String> args = new ArrayList<>(List.of(dir.toString(), "2", Integer.toString(STEPS),
                Boolean.toString(symmetric)));
        if (lab) args.add(labData.toString());
        ChildJvm.Result r = MpiJob.run(2, dir.resolve("job.log"), 180, DataParallelSteps.class.getName(),
                args.toArray(String[]::new));
        assertEquals(0, r.code(), r.output());
        DataParallelSteps.State rank0 = DataParallelSteps.State.read(dir.resolve("rank-0.bin"));
        DataParallelSteps.State rank1 = DataParallelSteps.State.read(dir.resolve("rank-1.bin"));
        // every rank holds the same model and queue, bit for bit
        assertArrayEquals(rank0.queue(), rank1.queue(), "the ranks' queues differ");
        assertArrayEquals(rank0.query(), rank1.query(), "the ranks' f_q differ");
        assertArrayEquals(rank0.firstQuery(), rank1.firstQuery(), "the ranks' f_q differ after one step");
        assertArrayEquals(rank0.key(), rank1.key(), "the ranks' f_k differ");
        assertArrayEquals(rank0.queryState(), rank1.queryState(), "the ranks' BN running statistics differ");
        assertArrayEquals(rank0.losses(), rank1.losses(), "the ranks report different losses");

        DataParallelSteps.State one = DataParallelSteps.run(new SingleProcess(), 4, STEPS, symmetric, labData);
        for (int i = 0; i < STEPS; i++)
            assertEquals(one.losses()[i], rank0.losses()[i], LOSS_TOLERANCE * one.losses()[i], "loss of step " + (i + 1));
        assertClose("f_q after one step", one.firstQuery(), rank0.firstQuery(), FIRST_STEP_TOLERANCE);
        assertClose("f_q", one.query(), rank0.query());
        assertClose("f_q's BN running statistics", one.queryState(), rank0.queryState());
        assertClose("f_k", one.key(), rank0.key());
        assertClose("f_k's BN running statistics", one.keyState(), rank0.keyState());
        assertClose("queue", one.queue(), rank0.queue());
        // and the first step did move f_q, far more than the two runs differ: alike because they stepped alike
        DataParallelSteps.State none = DataParallelSteps.run(new SingleProcess(), 4, 0, symmetric, labData);
        double moved = maxDifference(none.query(), one.firstQuery());
        System.out.printf("f_q moved up to %.3g in the first step%n", moved);
        assertTrue(moved > 100 * FIRST_STEP_TOLERANCE, "the first step moved f_q by " + moved + " only");
    }

    @Test
    void aKilledRankEndsTheJobAndItsCheckpointResumesExactlyOnTwoRanks(@TempDir Path dir) throws Exception {
        Path whole = dir.resolve("whole"), killed = dir.resolve("killed");
        ChildJvm.Result reference = MpiJob.run(2, dir.resolve("whole.log"), 180, Main.class.getName(),
                train(whole, "--checkpoint-minutes", "0"));
        assertEquals(0, reference.code(), reference.output());

        Process job = MpiJob.start(2, dir.resolve("killed.log"), Main.class.getName(),
                train(killed, "--checkpoint-minutes", "0.001"));
        try {
            Path checkpoint = killed.resolve("checkpoint.safetensors");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!Files.exists(checkpoint)) {
                assertTrue(job.isAlive() && System.nanoTime() < deadline, Files.readString(dir.resolve("killed.log")));
                Thread.sleep(20);
            }
            Thread.sleep(300); // a step or two further, mid-run
            ProcessHandle rank1 = rank(job, 1).orElseThrow(() -> new AssertionError("no rank 1 under mpirun"));
            long killedAt = System.nanoTime();
            rank1.destroyForcibly();
            assertTrue(job.waitFor(30, TimeUnit.SECONDS), "the job went on after its rank 1 was killed");
            double seconds = (System.nanoTime() - killedAt) / 1e9;
            String log = Files.readString(dir.resolve("killed.log"));
            assertNotEquals(0, job.exitValue(), log);
            System.out.printf("job ended %.2f s after rank 1 was killed%n", seconds);
            List<String> rank0 = log.lines().filter(l -> l.startsWith("jmoco: rank 0 of 2:")).toList();
            assertEquals(1, rank0.size(), "rank 0 says what happened on one line: " + log);
            System.out.println("rank 0 said: " + rank0.getFirst());
        } finally {
            job.destroyForcibly();
        }
        // a one-process run refuses the 2-rank checkpoint: it could not continue it exactly
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Trainer.resume(Trainer.savedConfig(killed), killed).close());
        assertTrue(e.getMessage().contains("written by a run of 2 ranks"), e.getMessage());

        ChildJvm.Result resumed = MpiJob.run(2, dir.resolve("resumed.log"), 180, Main.class.getName(),
                "train", "--resume", killed.toString());
        assertEquals(0, resumed.code(), resumed.output());
        assertEquals(epochRows(whole), epochRows(killed), "the resumed run's epochs differ from the uninterrupted run's");
    }

    private static String[] train(Path out, String... more) {
        List<String> args = new java.util.ArrayList<>(List.of("train", "--device", "cpu", "--limit-train", "512",
                "--batch", "64", "--queue", "256", "--epochs", "2", "--knn-every", "0", "--workers", "1",
                "--bn-splits", "2", "--log-every", "1", "--seed", "5", "--out", out.toString()));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    /** The loss and accuracy columns of metrics.csv's epoch rows (times differ between runs). */
    private static List<String> epochRows(Path run) throws IOException {
        return Files.readAllLines(run.resolve("metrics.csv")).stream().filter(l -> l.startsWith("epoch,"))
                .map(l -> String.join(",", List.of(l.split(",")).subList(0, 5))).toList();
    }

    /** The child of mpirun that is rank {@code rank} (Open MPI gives each its OMPI_COMM_WORLD_RANK). */
    private static Optional<ProcessHandle> rank(Process mpirun, int rank) {
        return mpirun.toHandle().children().filter(p -> {
            try {
                String env = Files.readString(Path.of("/proc", Long.toString(p.pid()), "environ"));
                return List.of(env.split("\0")).contains("OMPI_COMM_WORLD_RANK=" + rank);
            } catch (IOException e) {
                return false;
            }
        }).findFirst();
    }

    private static void assertClose(String what, float[] expected, float[] actual) {
        assertClose(what, expected, actual, STATE_TOLERANCE);
    }

    private static void assertClose(String what, float[] expected, float[] actual, double tolerance) {
        assertEquals(expected.length, actual.length, what + ": sizes");
        double d = maxDifference(expected, actual);
        System.out.printf("%s: max |2 ranks - 1 process| = %.3g%n", what, d);
        assertTrue(d <= tolerance, what + ": max difference " + d + " > " + tolerance);
    }

    private static double maxDifference(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
        return m;
    }
}
