package dev.jmoco.train;

import dev.jmoco.io.Safetensors;
import dev.jmoco.moco.Mechanism;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** End-to-end behaviour of {@link Trainer} on a Fashion-MNIST subset with the small CNN (CPU backend). */
class TrainerTest {

    /** 512 images, batch 64, K 256, 2 epochs of 8 steps; kNN off (the CLI test covers it). */
    static TrainConfig.Builder tiny(Path out) {
        return TrainConfig.builder().device("cpu").limitTrain(512).batch(64).queue(256).epochs(2).knnEvery(0)
                .workers(1).logEvery(4).outDir(out);
    }

    @Test
    void weightDecayTakesBiasesAndBatchNormOnlyWhenAskedToDecayAll() throws IOException {
        try (Trainer weights = Trainer.start(tiny(null).build());
             Trainer all = Trainer.start(tiny(null).decay(dev.jmoco.nn.DecayPolicy.DECAY_ALL).build())) {
            var w = weights.encoder().arena();
            var a = all.encoder().arena();
            assertTrue(w.decayedSize() < a.decayedSize(), w.decayedSize() + " vs " + a.decayedSize());
            for (var e : a.entries())
                assertTrue(e.kind() != dev.jmoco.autograd.ParameterArena.Kind.EXEMPT, e.name() + " is exempt");
        }
    }

    @Test
    void oneEpochResumeOneEpochIsBitIdenticalToTwoStraight(@TempDir Path dir) throws IOException {
        Path straight = dir.resolve("straight"), split = dir.resolve("split");
        try (Trainer t = Trainer.start(tiny(straight).build())) {
            t.train();
            assertEquals(16, t.globalStep());
        }
        try (Trainer t = Trainer.start(tiny(split).build())) {
            EpochResult first = t.trainEpoch();
            assertEquals(1, first.epoch());
            assertEquals(8, first.globalStep());
        }
        // The resumed half runs the loader on 2 threads instead of 1: batches depend on (seed, epoch, index) only.
        try (Trainer t = Trainer.resume(tiny(split).workers(2).build(), split)) {
            assertEquals(1, t.epochsDone());
            assertEquals(8, t.globalStep());
            t.train();
            assertEquals(2, t.history().size(), "the first epoch's row is kept from metrics.csv");
        }
        Safetensors.Contents a = Safetensors.read(straight.resolve(Checkpoint.FILE));
        Safetensors.Contents b = Safetensors.read(split.resolve(Checkpoint.FILE));
        assertEquals(a.tensors().keySet(), b.tensors().keySet());
        for (String prefix : List.of("encoder_q.", "encoder_k.", "optimizer.momentum.", "queue"))
            assertTrue(a.tensors().keySet().stream().anyMatch(k -> k.startsWith(prefix)), prefix);
        assertTrue(a.tensors().containsKey("encoder_k.bn1.running_mean"), "BN running stats are saved");
        assertSameTensors(a, b);
        assertEquals(16 * 64 % 256, a.tensors().get("queue_ptr").ints()[0], "1024 keys into a ring of 256");
        assertEquals("2", b.metadata().get("epoch"));
        assertEquals("16", b.metadata().get("global_step"));
    }

    /**
     * A run stopped 3 steps into epoch 2 (as by a crash) after checkpointing at every step resumes at the next
     * batch: weights, f_k, velocity, queue and the epoch's metrics row equal those of an uninterrupted run, and
     * metrics.csv holds each step row once.
     */
    @Test
    void aMidEpochCheckpointResumesAtTheNextBatchBitIdentically(@TempDir Path dir) throws IOException {
        Path straight = dir.resolve("straight"), crashed = dir.resolve("crashed");
        List<EpochResult> expected;
        try (Trainer t = Trainer.start(tiny(straight).checkpointMinutes(0).build())) {
            t.train();
            expected = t.history();
        }
        try (Trainer t = Trainer.start(tiny(crashed).checkpointMinutes(1e-9).build())) {
            for (int i = 0; i < 11; i++) t.step();
        }
        Map<String, String> saved = Safetensors.read(crashed.resolve(Checkpoint.FILE)).metadata();
        assertEquals("1", saved.get("epoch"));
        assertEquals("11", saved.get("global_step"));
        assertEquals("3", saved.get("epoch_steps"));
        try (Trainer t = Trainer.resume(tiny(crashed).build(), crashed)) {
            assertEquals(11, t.globalStep());
            t.train();
            assertEquals(expected.get(1).meanLoss(), t.history().get(1).meanLoss(), "the epoch's sums were restored");
            assertEquals(expected.get(1).meanAcc1(), t.history().get(1).meanAcc1());
        }
        Safetensors.Contents a = Safetensors.read(straight.resolve(Checkpoint.FILE));
        Safetensors.Contents b = Safetensors.read(crashed.resolve(Checkpoint.FILE));
        assertSameTensors(a, b);
        assertEquals("0", b.metadata().get("epoch_steps"));
        List<String> steps = Files.readAllLines(crashed.resolve(MetricsLog.FILE)).stream()
                .filter(l -> l.startsWith("step,")).map(l -> l.split(",")[2]).toList();
        assertEquals(List.of("4", "8", "12", "16"), steps);
    }

    @Test
    void trainingChangesTheWeightsAndTheKeyEncoderFollowsByMomentum(@TempDir Path dir) throws IOException {
        try (Trainer t = Trainer.start(tiny(dir).epochs(1).build())) {
            float[] q0 = t.encoder().arena().export("conv1.weight");
            float[] k0 = t.keyArena().export("conv1.weight");
            assertArrayEquals(q0, k0, "f_k starts as a copy of f_q");
            List<Integer> steps = new ArrayList<>();
            t.addListener(new TrainListener() {
                @Override public void onStep(int epoch, int step, int stepsPerEpoch, dev.jmoco.autograd.Loss.Stats s,
                                             double imagesPerSecond, double lr) {
                    assertTrue(Double.isFinite(s.loss()) && imagesPerSecond > 0 && lr > 0);
                    steps.add(step);
                }
            });
            t.step();
            float[] q1 = t.encoder().arena().export("conv1.weight");
            float[] k1 = t.keyArena().export("conv1.weight");
            assertFalse(Arrays.equals(q0, q1), "SGD moved f_q");
            t.step();
            // Step 2 starts with theta_k = m theta_k + (1 - m) theta_q, theta_q as step 1 left it (m = 0.99).
            double[] expected = new double[k1.length];
            for (int i = 0; i < k1.length; i++) expected[i] = 0.99 * k1[i] + 0.01 * q1[i];
            // float32 fused multiply-add against double: a few ulps of |theta| (~0.1); abs 1e-7 + rel 1e-6.
            Tolerance.assertClose("f_k after the second momentum update", expected,
                    t.keyArena().export("conv1.weight"), 1e-7, 1e-6);
            assertEquals(List.of(1, 2), steps);
            assertEquals(2, t.globalStep());
        }
    }

    @Test
    void learningRateIsLinearlyScaledWarmedUpThenCosine() {
        List<Double> lrs = new ArrayList<>();
        List<Integer> epochs = new ArrayList<>();
        try (Trainer t = Trainer.start(tiny(null).lr(0.5).warmupEpochs(1).build())) {
            t.addListener(new TrainListener() {
                @Override public void onStep(int epoch, int step, int stepsPerEpoch, dev.jmoco.autograd.Loss.Stats s,
                                             double imagesPerSecond, double lr) { lrs.add(lr); }

                @Override public void onEpoch(int epoch, double meanLoss, double knn, double seconds) {
                    assertTrue(Double.isNaN(knn), "kNN is off");
                    epochs.add(epoch);
                }
            });
            t.train();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        double base = 0.5 * 64 / 256; // linear scaling
        for (int s = 0; s < 8; s++) // warm-up over epoch 1 (cosine at epoch 0 is the base rate)
            assertEquals(base * (s + 1) / 8, lrs.get(s), 1e-12, "step " + s);
        for (int s = 8; s < 16; s++) // cosine per epoch: epoch 1 of 2 -> 0.5 (1 + cos(pi / 2)) = 0.5
            assertEquals(base * 0.5 * (1 + Math.cos(Math.PI / 2)), lrs.get(s), 1e-12, "step " + s);
        assertEquals(List.of(1, 2), epochs);
    }

    @Test
    void nonFiniteLossStopsAndKeepsTheLastGoodCheckpoint(@TempDir Path dir) throws IOException {
        try (Trainer t = Trainer.start(tiny(dir).build())) {
            t.trainEpoch();
        }
        byte[] good = Files.readAllBytes(dir.resolve(Checkpoint.FILE));
        byte[] goodJson = Files.readAllBytes(dir.resolve(Checkpoint.JSON));
        TrainingDivergedException e;
        try (Trainer t = Trainer.resume(tiny(dir).build(), dir)) {
            poison(t.encoder().arena(), "conv1.weight"); // NaN through every layer: the loss is NaN
            e = assertThrows(TrainingDivergedException.class, t::trainEpoch);
            assertThrows(IllegalStateException.class, t::step, "a diverged trainer refuses to go on");
        }
        assertEquals(2, e.epoch());
        assertTrue(e.getMessage().contains("epoch 2, step " + e.step()), e.getMessage());
        assertTrue(e.getMessage().contains("last good checkpoint (step 8)"), e.getMessage());
        assertArrayEquals(good, Files.readAllBytes(dir.resolve(Checkpoint.FILE)));
        assertArrayEquals(goodJson, Files.readAllBytes(dir.resolve(Checkpoint.JSON)));
    }

    /** Every tensor of {@code b} equals {@code a}'s bit for bit (exact: no tolerance), and they have the same names. */
    static void assertSameTensors(Safetensors.Contents a, Safetensors.Contents b) {
        assertEquals(a.tensors().keySet(), b.tensors().keySet());
        for (Map.Entry<String, Safetensors.Tensor> e : a.tensors().entrySet()) {
            Safetensors.Tensor x = e.getValue(), y = b.tensors().get(e.getKey());
            if (x.data() != null) assertArrayEquals(x.data(), y.data(), e.getKey());
            else assertArrayEquals(x.ints(), y.ints(), e.getKey());
        }
    }

    /** Sets element 0 of arena tensor {@code name} to NaN. */
    static void poison(dev.jmoco.autograd.ParameterArena arena, String name) {
        float[] v = arena.export(name);
        v[0] = Float.NaN;
        arena.load(name, v);
    }

    @Test
    void resumeRejectsAnotherArchitectureNamingBoth(@TempDir Path dir) throws IOException {
        try (Trainer t = Trainer.start(tiny(dir).epochs(1).build())) {
            t.train();
        }
        var e = assertThrows(IllegalArgumentException.class,
                () -> Trainer.resume(tiny(dir).arch("resnet18").build(), dir).close());
        assertTrue(e.getMessage().contains("small-c1-v2-d128") && e.getMessage().contains("resnet18-cifar-c1-v2-d128"),
                e.getMessage());
        var q = assertThrows(IllegalArgumentException.class,
                () -> Trainer.resume(tiny(dir).queue(512).build(), dir).close());
        assertTrue(q.getMessage().contains("queue 256") && q.getMessage().contains("512"), q.getMessage());
        var fresh = assertThrows(IllegalArgumentException.class, () -> Trainer.start(tiny(dir).build()).close());
        assertTrue(fresh.getMessage().contains("already holds a checkpoint"), fresh.getMessage());
    }

    @Test
    void batchLargerThanTheLimitedDatasetIsRejectedNamingBoth() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> Trainer.start(tiny(null).limitTrain(48).build()).close());
        assertTrue(e.getMessage().contains("batch 64") && e.getMessage().contains("48"), e.getMessage());
    }

    @Test
    void otherMechanismsTrainAndCheckpointTheirDictionary(@TempDir Path dir) throws IOException {
        try (Trainer t = Trainer.start(tiny(dir.resolve("bank")).epochs(1).mechanism(Mechanism.MEMORY_BANK).build())) {
            t.train();
        }
        var bank = Safetensors.read(dir.resolve("bank").resolve(Checkpoint.FILE)).tensors();
        assertArrayEquals(new long[] {512, 128}, bank.get("memory_bank").shape());
        assertFalse(bank.containsKey("encoder_k.conv1.weight") || bank.containsKey("queue"));
        try (Trainer t = Trainer.start(tiny(null).epochs(1).mechanism(Mechanism.END_TO_END).build())) {
            assertTrue(Double.isFinite(t.trainEpoch().meanLoss()));
        }
    }
}
