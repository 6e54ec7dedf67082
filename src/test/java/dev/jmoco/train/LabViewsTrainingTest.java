package dev.jmoco.train;

import dev.jmoco.io.Safetensors;
import dev.jmoco.moco.Mechanism;
import dev.jmoco.nn.HeadKind;
import dev.jmoco.testing.ColourFolder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --views lab} (CMC) through the trainer on colour PNGs: an L encoder (1 channel) and an ab encoder (2),
 * each with its momentum copy and queue, saved side by side and resumed exactly; the settings and data it refuses.
 */
class LabViewsTrainingTest {
    @TempDir static Path data;

    @BeforeAll
    static void writeImages() throws IOException {
        ColourFolder.write(data, 32, 5); // 96 training images, 48 test
    }

    /** 96 images, batch 16, K 64, 2 epochs of 6 steps, kNN each epoch (k 10). */
    static TrainConfig.Builder tinyLab(Path out) {
        return TrainConfig.builder().device("cpu").dataset("folder").dataDir(data).views("lab").augmentation("cmc")
                .batch(16).queue(64).bnSplits(4).epochs(2).knnK(10).workers(1).logEvery(2).outDir(out);
    }

    @Test
    void bothEncodersAndQueuesAreSavedAndAResumedRunIsBitIdentical(@TempDir Path dir) throws IOException {
        Path straight = dir.resolve("straight"), split = dir.resolve("split");
        try (Trainer t = Trainer.start(tinyLab(straight).build())) {
            assertEquals(1, t.encoder().architecture().inChannels());
            assertEquals(2, t.abEncoder().architecture().inChannels());
            float[] l0 = t.encoder().arena().export("conv1.weight"), ab0 = t.abEncoder().arena().export("conv1.weight");
            EpochResult last = t.train();
            assertTrue(last.knnAccuracy() >= 0 && last.knnAccuracy() <= 1, "kNN on [L | ab]: " + last.knnAccuracy());
            assertFalse(Arrays.equals(l0, t.encoder().arena().export("conv1.weight")), "L's f_q trained");
            assertFalse(Arrays.equals(ab0, t.abEncoder().arena().export("conv1.weight")), "ab's f_q trained");
            assertEquals(12 * 16 % 64, t.abQueue().pointer());
        }
        try (Trainer t = Trainer.start(tinyLab(split).build())) {
            t.trainEpoch();
        }
        try (Trainer t = Trainer.resume(tinyLab(split).build(), split)) {
            assertEquals(6, t.globalStep());
            t.train();
        }
        Safetensors.Contents a = Safetensors.read(straight.resolve(Checkpoint.FILE));
        Safetensors.Contents b = Safetensors.read(split.resolve(Checkpoint.FILE));
        TrainerTest.assertSameTensors(a, b);
        for (String prefix : List.of("", Checkpoint.AB))
            for (String part : List.of("encoder_q.", "encoder_k.", "optimizer.momentum.", "queue"))
                assertTrue(a.tensors().keySet().stream().anyMatch(k -> k.startsWith(prefix + part)), prefix + part);
        assertEquals(1, a.tensors().get("encoder_q.conv1.weight").shape()[1], "L takes one channel");
        assertEquals(2, a.tensors().get("ab.encoder_q.conv1.weight").shape()[1], "ab takes two");
        assertEquals(12 * 16 % 64, a.tensors().get("ab.queue_ptr").ints()[0]);
        assertNotNull(a.metadata().get("ab.architecture"));
        assertEquals("lab", a.metadata().get("config.views"));
        // what embed and eval normalise image files with: CMC's Lab statistics
        var recorded = EncoderFiles.recordedNormalization(straight.resolve(Checkpoint.FILE));
        assertArrayEquals(new float[] {50, (float) ((-86.183 + 98.233) / 2), (float) ((-107.857 + 94.478) / 2)},
                recorded.mean());
    }

    @Test
    void resumingWithOtherViewsIsRefusedNamingBoth(@TempDir Path dir) throws IOException {
        try (Trainer t = Trainer.start(tinyLab(dir).epochs(1).knnEvery(0).build())) {
            t.train();
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Trainer.resume(
                tinyLab(dir).views("augment").augmentation("cmc").build(), dir));
        assertTrue(e.getMessage().contains("views lab") && e.getMessage().contains("augment"), e.getMessage());
    }

    @Test
    void grayscaleDataIsRefusedBeforeTraining(@TempDir Path dir) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Trainer.start(
                TrainerTest.tiny(dir).views("lab").augmentation("cmc").build()));
        assertTrue(e.getMessage().contains("fashion-mnist") && e.getMessage().contains("grayscale"), e.getMessage());
    }

    @Test
    void settingsThatDoNotFitCmcAreRefusedSayingWhy() {
        TrainConfig.Builder lab = TrainConfig.builder().views("lab").augmentation("cmc");
        assertTrue(message(lab.mechanism(Mechanism.END_TO_END)).contains("moco mechanism"));
        lab = TrainConfig.builder().views("lab").augmentation("cmc");
        assertTrue(message(lab.symmetric(true)).contains("drop --symmetric"));
        assertTrue(message(TrainConfig.builder().views("lab").augmentation("v2")).contains("use --aug cmc"));
        assertTrue(message(TrainConfig.builder().views("cmc")).contains("unknown views 'cmc' (augment, lab)"));
    }

    @Test
    void labViewsTakeCmcsRecipeAndTheBnHeadUnlessTold() {
        TrainConfig plain = TrainConfig.builder().views("lab").build();
        assertEquals("cmc", plain.augmentation());
        assertEquals(HeadKind.BN, plain.head());
        assertEquals(HeadKind.V2, TrainConfig.builder().views("lab").head(HeadKind.V2).build().head(), "as told");
        assertEquals(HeadKind.V2, plain.toBuilder().head(HeadKind.V2).build().head());
        assertEquals(HeadKind.BN, plain.toBuilder().epochs(3).build().head(), "a built config keeps its head");
        TrainConfig augment = TrainConfig.builder().build();
        assertEquals("v2", augment.augmentation());
        assertEquals(HeadKind.V2, augment.head(), "the augment views keep MoCo v2's defaults");
    }

    /**
     * Why lab runs default to the BN head: two encoders that start unrelated give queries no hint of their
     * positive, and InfoNCE's best answer to that is one output for every image (all logits equal, loss
     * ln(K + 1), zero gradient), which the v2 head drifts into; the BN head cannot output a constant. Measured
     * by the mean cosine between the keys in ab's queue (the last 4 steps' keys) after 16 epochs of 6 steps:
     * v2 0.72 after 1 epoch, 0.86 after 8, 0.93 after 16; bn -0.015 throughout (its last BN centres each output
     * dimension over the batch).
     */
    @Test
    void theBnHeadKeepsTheKeysApartWhereTheV2HeadCollapses(@TempDir Path dir) {
        double v2 = keyCosine(tinyLab(dir.resolve("v2")).head(HeadKind.V2)), bn = keyCosine(
                tinyLab(dir.resolve("bn")).head(HeadKind.BN));
        assertTrue(v2 > 0.9, "v2 head: keys collapse to one direction, mean cosine " + v2);
        assertTrue(bn < 0.3, "bn head: keys stay apart, mean cosine " + bn);
    }

    private static double keyCosine(TrainConfig.Builder b) {
        try (Trainer t = Trainer.start(b.epochs(16).knnEvery(0).build())) {
            t.train();
            float[] keys = t.abQueue().toArray();
            int k = t.abQueue().capacity(), dim = t.abQueue().dim();
            double sum = 0;
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++) {
                    if (i == j) continue;
                    double dot = 0;
                    for (int c = 0; c < dim; c++) dot += keys[i * dim + c] * keys[j * dim + c];
                    sum += dot;
                }
            return sum / ((double) k * (k - 1));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String message(TrainConfig.Builder b) {
        return assertThrows(IllegalArgumentException.class, b::build).getMessage();
    }
}
