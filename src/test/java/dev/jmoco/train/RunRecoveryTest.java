package dev.jmoco.train;

import dev.jmoco.io.Json;
import dev.jmoco.io.Safetensors;
import dev.jmoco.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static dev.jmoco.train.TrainerTest.poison;
import static dev.jmoco.train.TrainerTest.tiny;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Nothing lost, nothing poisoned: the checkpoint stays the last good state, and after a kill, a torn file or
 * a signal, resume puts every file of the run back in step with it.
 */
class RunRecoveryTest {

    /**
     * A NaN in a BN running variance leaves the loss finite (train-mode BN does not read it), so only the
     * finite check before saving stops it: the run ends naming the tensor, and the checkpoint on disk stays
     * the previous epoch's, byte for byte.
     */
    @Test
    void aNonFiniteRunningStatisticIsNeverSaved(@TempDir Path dir) throws IOException {
        try (Trainer t = Trainer.start(tiny(dir).build())) {
            t.trainEpoch();
        }
        byte[] good = Files.readAllBytes(dir.resolve(Checkpoint.FILE));
        try (Trainer t = Trainer.resume(tiny(dir).build(), dir)) {
            poison(t.encoder().arena(), "bn1.running_var");
            var e = assertThrows(TrainingDivergedException.class, t::trainEpoch);
            assertTrue(e.getMessage().contains("encoder_q.bn1.running_var holds NaN")
                    && e.getMessage().contains("epoch 2, step 8 (step 16 of the run)")
                    && e.getMessage().contains("last good checkpoint (step 8)"), e.getMessage());
        }
        assertArrayEquals(good, Files.readAllBytes(dir.resolve(Checkpoint.FILE)));
    }

    /** A checkpoint written before this check existed, holding NaN: resume refuses it instead of diverging. */
    @Test
    void aPoisonedCheckpointIsNotResumed(@TempDir Path dir) throws IOException {
        try (Trainer t = Trainer.start(tiny(dir).build())) {
            t.trainEpoch();
        }
        Path file = dir.resolve(Checkpoint.FILE);
        Safetensors.Contents c = Safetensors.read(file);
        Map<String, Safetensors.Tensor> tensors = new LinkedHashMap<>(c.tensors());
        float[] v = tensors.get("encoder_k.bn1.running_mean").data().clone();
        v[3] = Float.POSITIVE_INFINITY;
        tensors.put("encoder_k.bn1.running_mean", Safetensors.Tensor.of(v, v.length));
        Safetensors.write(file, tensors, c.metadata());
        var e = assertThrows(IllegalArgumentException.class, () -> Trainer.resume(tiny(dir).build(), dir).close());
        assertTrue(e.getMessage().contains("encoder_k.bn1.running_mean holds Infinity at element 3"), e.getMessage());
    }

    /** Fields of the checkpoint's metadata that do not parse are named with the file. */
    @Test
    void aBadMetadataFieldIsNamed(@TempDir Path dir) throws IOException {
        try (Trainer t = Trainer.start(tiny(dir).build())) {
            t.trainEpoch();
        }
        Path file = dir.resolve(Checkpoint.FILE);
        for (String[] bad : new String[][] {{"epoch", "abc"}, {"global_step", ""}, {"history", "[{]"}}) {
            Safetensors.Contents c = Safetensors.read(file);
            Map<String, String> metadata = new LinkedHashMap<>(c.metadata());
            metadata.put(bad[0], bad[1]);
            Safetensors.write(file, c.tensors(), metadata);
            var e = assertThrows(IllegalArgumentException.class, () -> Trainer.resume(tiny(dir).build(), dir).close());
            assertTrue(e.getMessage().startsWith(file + ": checkpoint field " + bad[0]), e.getMessage());
            metadata.put(bad[0], c.metadata().get(bad[0]));
            Safetensors.write(file, c.tensors(), metadata);
        }
    }

    /**
     * A kill after the last epoch's checkpoint but before its metrics row, summary.json and curves.png (with a
     * step row torn in half at the end of metrics.csv): resume has nothing left to train, and puts all three
     * back as an uninterrupted run wrote them.
     */
    @Test
    void aKillBetweenTheCheckpointAndTheEpochFilesIsRepairedOnResume(@TempDir Path dir) throws IOException {
        try (Trainer t = Trainer.start(tiny(dir).epochs(1).build())) {
            t.train();
        }
        Path metrics = dir.resolve(MetricsLog.FILE), summary = dir.resolve(RunOutputs.SUMMARY);
        String whole = Files.readString(metrics);
        Object wholeSummary = Json.parse(Files.readString(summary));
        List<String> lines = whole.lines().filter(l -> !l.startsWith("epoch,")).toList();
        Files.writeString(metrics, String.join("\n", lines) + "\nstep,2,9,4.1");
        Files.delete(summary);
        Files.delete(dir.resolve(CurvePlot.FILE));
        try (Trainer t = Trainer.resume(tiny(dir).epochs(1).build(), dir)) {
            assertTrue(t.done());
            assertEquals(1, t.history().size());
        }
        assertEquals(whole, Files.readString(metrics));
        assertEquals(wholeSummary, Json.parse(Files.readString(summary)));
        assertTrue(Files.size(dir.resolve(CurvePlot.FILE)) > 0);
    }

    /** summary.json's kNN seconds add up over resumes, as its wall time does. */
    @Test
    void summaryFiguresAreCumulativeOverResumes(@TempDir Path dir) throws IOException {
        double first;
        try (Trainer t = Trainer.start(tiny(dir).knnEvery(1).knnK(20).limitTest(200).build())) {
            first = t.trainEpoch().knnSeconds();
        }
        double second;
        try (Trainer t = Trainer.resume(tiny(dir).knnEvery(1).knnK(20).limitTest(200).build(), dir)) {
            second = t.trainEpoch().knnSeconds();
        }
        Map<?, ?> s = (Map<?, ?>) Json.parse(Files.readString(dir.resolve(RunOutputs.SUMMARY)));
        assertEquals(first + second, ((Number) s.get("knn_s")).doubleValue(), 1e-9);
        assertEquals(2L, s.get("epochs"));
    }

    /**
     * SIGTERM to a training process: it writes a mid-epoch checkpoint, says where, and exits 143; resuming it
     * ends with weights, f_k, velocity and queue bit-identical to an uninterrupted run's.
     */
    @Test
    void sigtermCheckpointsMidEpochAndResumeEndsBitIdentical(@TempDir Path dir) throws Exception {
        Path straight = dir.resolve("straight"), stopped = dir.resolve("stopped");
        try (Trainer t = Trainer.start(tiny(straight).checkpointMinutes(0).build())) {
            t.train();
        }
        Path log = dir.resolve("train.log");
        Process p = new ChildJvm().start(log, "dev.jmoco.cli.Main", "train", "--device", "cpu", "--limit-train",
                "512", "--batch", "64", "--queue", "256", "--epochs", "2", "--knn-every", "0", "--workers", "1",
                "--log-every", "1", "--checkpoint-minutes", "0", "--out", stopped.toString());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        Path metrics = stopped.resolve(MetricsLog.FILE);
        while (!(Files.exists(metrics) && Files.readString(metrics).contains("step,1,2,"))) {
            assertTrue(p.isAlive() && System.nanoTime() < deadline, Files.readString(log));
            Thread.sleep(20);
        }
        p.destroy(); // SIGTERM
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(143, p.exitValue(), output);
        assertTrue(output.contains("checkpoint written to " + stopped.resolve(Checkpoint.FILE)), output);
        Map<String, String> saved = Safetensors.read(stopped.resolve(Checkpoint.FILE)).metadata();
        int steps = Integer.parseInt(saved.get("epoch_steps")) + 8 * Integer.parseInt(saved.get("epoch"));
        assertTrue(steps >= 2 && steps < 16, "stopped mid-run, at step " + steps);
        try (Trainer t = Trainer.resume(tiny(stopped).checkpointMinutes(0).build(), stopped)) {
            t.train();
        }
        Safetensors.Contents a = Safetensors.read(straight.resolve(Checkpoint.FILE));
        Safetensors.Contents b = Safetensors.read(stopped.resolve(Checkpoint.FILE));
        TrainerTest.assertSameTensors(a, b);
    }

    @Test
    void settingsOutsideSaneRangesAreRefusedWithTheRange() {
        var t = assertThrows(IllegalArgumentException.class, () -> tiny(null).temperature(1e-9f).build());
        assertTrue(t.getMessage().contains("temperature must be in [0.01, 1.0]"), t.getMessage());
        var lr = assertThrows(IllegalArgumentException.class, () -> tiny(null).lr(1e30).build());
        assertTrue(lr.getMessage().contains("lr must be in [0, 10.0]"), lr.getMessage());
        var m = assertThrows(IllegalArgumentException.class, () -> tiny(null).momentum(1.5f).build());
        assertTrue(m.getMessage().contains("momentum must be in [0, 1]"), m.getMessage());
    }
}
