package dev.jmoco.cli;

import dev.jmoco.autograd.Tape;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Backends;
import dev.jmoco.data.LabColor;
import dev.jmoco.io.Json;
import dev.jmoco.io.Safetensors;
import dev.jmoco.nn.Encoder;
import dev.jmoco.nn.Mode;
import dev.jmoco.testing.ColourFolder;
import dev.jmoco.testing.Tolerance;
import dev.jmoco.train.EncoderFiles;
import dev.jmoco.train.JsonFiles;
import dev.jmoco.train.TrainConfig;
import dev.jmoco.train.Trainer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code eval} and {@code embed} on a checkpoint of {@code --views lab} (CMC): the L encoder, the ab encoder, or
 * both concatenated, on colour PNGs converted to Lab as in training.
 */
class LabCheckpointCommandsTest {
    @TempDir static Path dir;
    static Path data, checkpoint, plain;

    @BeforeAll
    static void train() throws IOException {
        data = ColourFolder.write(dir.resolve("data"), 16, 9); // 48 training images, 24 test
        TrainConfig.Builder b = TrainConfig.builder().device("cpu").dataset("folder").dataDir(data).batch(16)
                .queue(64).bnSplits(4).epochs(1).knnK(10).workers(1).augmentation("cmc");
        try (Trainer t = Trainer.start(b.views("lab").outDir(dir.resolve("lab")).build())) {
            t.train();
        }
        try (Trainer t = Trainer.start(b.views("augment").knnEvery(0).outDir(dir.resolve("rgb")).build())) {
            t.train();
        }
        checkpoint = dir.resolve("lab/checkpoint.safetensors");
        plain = dir.resolve("rgb/checkpoint.safetensors");
    }

    private static CliRun eval(String protocol, Path ckpt, String... more) {
        String[] base = {"eval", protocol, "--checkpoint", ckpt.toString(), "--knn-k", "10", "--device", "cpu",
                "--workers", "1"};
        String[] all = Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return CliRun.of(all);
    }

    @Test
    void knnOnBothViewsEqualsTheTrainersOwnMonitor() throws IOException {
        CliRun r = eval("knn", checkpoint);
        assertEquals(0, r.code(), r.err());
        Map<String, Object> result = JsonFiles.parse(dir.resolve("lab/checkpoint.eval-knn.json"));
        assertEquals("both", result.get("view"));
        assertEquals("small-c1-bn-d128 + small-c2-bn-d128", result.get("architecture"));
        double trained = (Double) JsonFiles.parse(dir.resolve("lab/summary.json")).get("knn_accuracy");
        assertEquals(trained, (Double) result.get("accuracy"), 0.0, "the same [L | ab] features as in training");
        CliRun l = eval("knn", checkpoint, "--view", "l");
        assertEquals(0, l.code(), l.err());
        Map<String, Object> lResult = JsonFiles.parse(dir.resolve("lab/checkpoint.eval-knn-l.json"));
        assertEquals("l", lResult.get("view"));
        assertEquals("small-c1-bn-d128", lResult.get("architecture"));
    }

    @Test
    void embedConcatenatesLAndAbAndLsFeaturesAreThoseOfTheLabImage() throws IOException {
        Path input = data.resolve("test");
        Map<String, Safetensors.Tensor> both = embed(input, "both"), l = embed(input, "l"), ab = embed(input, "ab");
        int n = 24, f = 512;
        assertArrayEquals(new long[] {n, 2 * f}, both.get("features").shape());
        assertArrayEquals(new long[] {n, 256}, both.get("projections").shape());
        for (int i = 0; i < n; i++) {
            float[] row = Arrays.copyOfRange(both.get("features").data(), i * 2 * f, (i + 1) * 2 * f);
            assertArrayEquals(Arrays.copyOfRange(l.get("features").data(), i * f, (i + 1) * f),
                    Arrays.copyOf(row, f), "row " + i + ": L first");
            assertArrayEquals(Arrays.copyOfRange(ab.get("features").data(), i * f, (i + 1) * f),
                    Arrays.copyOfRange(row, f, 2 * f), "row " + i + ": then ab");
        }
        // Reference: each file decoded by javax.imageio, to Lab, normalised with CMC's statistics, its L plane
        // through the L backbone in eval mode. Tolerance: float32 convolutions of the same inputs, abs 1e-4 + rel 1e-4.
        List<?> files = (List<?>) Json.parse(Safetensors.readMetadata(dir.resolve("emb-l.safetensors")).get("files"));
        int side = ColourFolder.SIDE, plane = side * side;
        float[] lPlanes = new float[n * plane];
        for (int i = 0; i < n; i++) {
            BufferedImage img = ImageIO.read(Path.of((String) files.get(i)).toFile());
            float[] rgb = new float[3 * plane], lab = new float[3 * plane];
            for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++) {
                    int p = img.getRGB(x, y);
                    rgb[y * side + x] = ((p >> 16) & 255) / 255f;
                    rgb[plane + y * side + x] = ((p >> 8) & 255) / 255f;
                    rgb[2 * plane + y * side + x] = (p & 255) / 255f;
                }
            LabColor.fromRgb(rgb, 0, plane, lab, 0);
            for (int j = 0; j < plane; j++) lPlanes[i * plane + j] = (lab[j] - 50f) / 50f;
        }
        try (Backend cpu = Backends.create("cpu")) {
            Encoder encoder = EncoderFiles.load(checkpoint, "small", cpu);
            try (Tape scope = Tape.noGrad(); Tensor x = Tensor.fromArray(cpu, lPlanes, n, 1, side, side)) {
                Tolerance.assertClose("L features", encoder.features(x, Mode.EVAL).toArray(), l.get("features").data(),
                        1e-4, 1e-4);
            } finally {
                encoder.arena().close();
            }
        }
    }

    private static Map<String, Safetensors.Tensor> embed(Path input, String view) throws IOException {
        Path out = dir.resolve("emb-" + view + ".safetensors");
        CliRun r = CliRun.of("embed", "--checkpoint", checkpoint.toString(), "--input", input.toString(), "--output",
                out.toString(), "--view", view, "--device", "cpu", "--workers", "1");
        assertEquals(0, r.code(), r.err());
        assertEquals(view, Safetensors.readMetadata(out).get("view"));
        return Safetensors.read(out).tensors();
    }

    @Test
    void fineTuningTunesTheChosenViewAndAsksForOne() throws IOException {
        CliRun none = eval("finetune", checkpoint);
        assertEquals(1, none.code());
        assertTrue(none.err().contains("choose --view l or --view ab"), none.err());
        Path out = dir.resolve("tuned-ab.json");
        CliRun r = eval("finetune", checkpoint, "--view", "ab", "--epochs", "2", "--batch", "16", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        Map<String, Object> result = JsonFiles.parse(out);
        assertEquals("ab", result.get("view"));
        assertEquals("small-c2-bn-d128", result.get("architecture"));
        double top1 = (Double) result.get("accuracy");
        assertTrue(top1 >= 0 && top1 <= 1, "accuracy " + top1);
    }

    @Test
    void trainWithLabViewsTakesCmcsRecipeAndTheBnHeadUnasked() throws IOException {
        Path out = dir.resolve("cli-lab");
        CliRun r = CliRun.of("train", "--dataset", "folder", "--data-dir", data.toString(), "--views", "lab", "--epochs",
                "1", "--batch", "16", "--queue", "64", "--bn-splits", "4", "--knn-every", "0", "--device", "cpu",
                "--workers", "1", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("Lab views (CMC): small-c1-bn-d128") && r.err().contains("small-c2-bn-d128"
                + " (") && r.err().contains(" on ab"), r.err());
        Map<?, ?> config = (Map<?, ?>) JsonFiles.parse(out.resolve("checkpoint.json")).get("config");
        assertEquals("lab", config.get("views"));
        assertEquals("cmc", config.get("augmentation"));
        assertEquals("bn", config.get("head"));
        CliRun grey = CliRun.of("train", "--views", "lab", "--limit-train", "64", "--batch", "16", "--epochs", "1", "--knn-every", "0",
                "--device", "cpu", "--out", dir.resolve("grey").toString());
        assertEquals(1, grey.code());
        assertTrue(grey.err().contains("the lab views need colour images: fashion-mnist") && grey.err().contains("1 "
                + "channel (grayscale)"), grey.err());
    }

    @Test
    void aViewIsRefusedForACheckpointOfOneEncoder() {
        CliRun r = eval("knn", plain, "--view", "l");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--view is for checkpoints of --views lab") && r.err().contains("has one encoder"),
                r.err());
        CliRun e = CliRun.of("embed", "--checkpoint", plain.toString(), "--input", data.resolve("test").toString(),
                "--output", dir.resolve("x.safetensors").toString(), "--view", "ab", "--device", "cpu");
        assertEquals(1, e.code());
        assertTrue(e.err().contains("has one encoder"), e.err());
    }
}
