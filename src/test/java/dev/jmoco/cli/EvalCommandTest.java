package dev.jmoco.cli;

import dev.jmoco.train.JsonFiles;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code jmoco eval} on a checkpoint trained for one epoch. */
class EvalCommandTest {
    @TempDir static Path dir;
    static Path checkpoint;

    @BeforeAll
    static void train() throws IOException { checkpoint = TinyCheckpoint.train(dir); }

    private static String[] eval(String protocol, String... more) {
        String[] base = {"eval", protocol, "--checkpoint", checkpoint.toString(), "--limit-train", "256",
                "--limit-test", "256", "--device", "cpu", "--workers", "1"};
        String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    @Test
    void knnOfTheLoadedCheckpointEqualsTheTrainersOwnMonitor() throws IOException {
        CliRun r = CliRun.of(eval("knn", "--knn-k", Integer.toString(TinyCheckpoint.KNN_K)));
        assertEquals(0, r.code(), r.err());
        Map<String, Object> result = JsonFiles.parse(dir.resolve("checkpoint.eval-knn.json"));
        double accuracy = (Double) result.get("accuracy");
        // Same bank, queries, k and t as the trainer's epoch-end monitor: any difference in the loaded weights
        // or BN statistics would change the features and, almost surely, the accuracy.
        double trained = (Double) JsonFiles.parse(dir.resolve("summary.json")).get("knn_accuracy");
        assertEquals(trained, accuracy, 0.0);
        assertEquals(256L, result.get("test_images"));
        assertEquals(0.1, result.get("t"), "the temperature as given, not its float widened (0.10000000149...)");
        assertTrue(r.out().startsWith(String.format(java.util.Locale.ROOT, "knn accuracy %.4f", accuracy)), r.out());
        assertTrue(r.err().contains("jmoco: eval knn: encoding 256 training images...")
                && r.err().contains("encoded 256 test images in "), "progress on stderr: " + r.err());
    }

    @Test
    void linearProbeWritesItsAccuracyToOut() throws IOException {
        Path out = dir.resolve("linear.json");
        CliRun r = CliRun.of(eval("linear", "--epochs", "5", "--out", out.toString()));
        assertEquals(0, r.code(), r.err());
        Map<String, Object> result = JsonFiles.parse(out);
        double top1 = (Double) result.get("accuracy"), top5 = (Double) result.get("top5");
        assertTrue(top1 > 0.2 && top1 <= 1, "10 classes, chance 0.1: " + top1);
        assertTrue(top5 >= top1 && top5 <= 1, top5 + " vs " + top1);
        assertEquals("small-c1-v2-d128", result.get("architecture"));
        for (int e = 1; e <= 5; e++)
            assertTrue(r.err().contains("linear probe epoch " + e + "/5: loss "), "epoch " + e + ": " + r.err());
    }

    @Test
    void thePapersLinearProbeIsReachable() throws IOException {
        Path out = dir.resolve("linear-paper.json");
        CliRun r = CliRun.of(eval("linear", "--probe", "paper", "--epochs", "5", "--out", out.toString()));
        assertEquals(0, r.code(), r.err());
        Map<String, Object> result = JsonFiles.parse(out);
        assertEquals("paper", result.get("probe"));
        assertEquals(100L, result.get("epochs"), "MoCo's 100 epochs, not --epochs");
        assertEquals(30.0, result.get("lr"));
        double top1 = (Double) result.get("accuracy");
        assertTrue(top1 > 0.2 && top1 <= 1, "10 classes, chance 0.1: " + top1);
        CliRun bad = CliRun.of(eval("linear", "--probe", "sota"));
        assertNotEquals(0, bad.code());
        assertTrue(bad.err().contains("unknown linear probe 'sota' (jmoco, paper)"), bad.err());
    }

    @Test
    void aLabelFractionTrainsOnItsBalancedSubsetAndWritesIt() throws IOException {
        Path out = dir.resolve("linear-labels.json");
        CliRun r = CliRun.of(eval("linear", "--epochs", "3", "--label-fraction", "0.25", "--seed", "4",
                "--out", out.toString()));
        assertEquals(0, r.code(), r.err());
        Map<String, Object> result = JsonFiles.parse(out);
        assertEquals(0.25, result.get("label_fraction"));
        Map<String, Object> subset = JsonFiles.parse(dir.resolve("linear-labels.subset.json"));
        assertEquals(result.get("train_images"), subset.get("images"));
        assertEquals(4L, subset.get("seed"));
        long sum = ((java.util.List<?>) subset.get("per_class")).stream().mapToLong(v -> (Long) v).sum();
        assertEquals(subset.get("images"), sum);
        assertEquals(sum, ((java.util.List<?>) subset.get("indices")).size());
        assertTrue((Long) subset.get("images") > 50 && (Long) subset.get("images") < 80,
                "a quarter of 256: " + subset.get("images"));
        assertEquals(256L, result.get("test_images"), "the whole test split");
        // the written subset trains another protocol on the very same images
        Path knn = dir.resolve("knn-labels.json");
        CliRun tooMany = CliRun.of(eval("knn", "--label-subset", dir.resolve("linear-labels.subset.json").toString()));
        assertNotEquals(0, tooMany.code());
        assertTrue(tooMany.err().contains("knn k 200 exceeds the " + result.get("train_images") + " labelled training "
                + "images of the bank; lower --knn-k") && !tooMany.err().contains("encoding"), tooMany.err());
        CliRun again = CliRun.of(eval("knn", "--label-subset", dir.resolve("linear-labels.subset.json").toString(),
                "--knn-k", "20", "--out", knn.toString()));
        assertEquals(0, again.code(), again.err());
        Map<String, Object> reused = JsonFiles.parse(knn);
        assertEquals(result.get("train_images"), reused.get("train_images"));
        assertEquals(0.25, reused.get("label_fraction"));
        assertTrue(((String) reused.get("label_subset_from")).endsWith("linear-labels.subset.json"), reused.toString());
    }

    @Test
    void fineTuningTrainsTheBackboneAndScratchIsItsBaseline() throws IOException {
        Path tuned = dir.resolve("finetune.json"), scratch = dir.resolve("scratch.json");
        // 48 steps: enough for the BN running statistics that eval mode uses to follow the tuned backbone
        CliRun r = CliRun.of(eval("finetune", "--epochs", "6", "--batch", "32", "--out", tuned.toString()));
        assertEquals(0, r.code(), r.err());
        Map<String, Object> result = JsonFiles.parse(tuned);
        assertEquals("checkpoint", result.get("from"));
        double top1 = (Double) result.get("accuracy");
        assertTrue(top1 > 0.2 && top1 <= 1, "10 classes, chance 0.1: " + top1);
        for (int e = 1; e <= 6; e++)
            assertTrue(r.err().contains("fine-tune epoch " + e + "/6: loss "), "epoch " + e + ": " + r.err());
        CliRun s = CliRun.of("eval", "finetune", "--scratch", "--arch", "small", "--limit-train", "256",
                "--limit-test", "256", "--device", "cpu", "--workers", "1", "--epochs", "2", "--batch", "64",
                "--out", scratch.toString());
        assertEquals(0, s.code(), s.err());
        assertEquals("scratch", JsonFiles.parse(scratch).get("from"));
        CliRun bad = CliRun.of("eval", "finetune", "--scratch", "--limit-train", "256");
        assertNotEquals(0, bad.code());
        assertTrue(bad.err().contains("eval finetune --scratch needs --arch A and --out FILE"), bad.err());
    }

    @Test
    void anotherArchitectureIsRejectedNamingBoth() {
        CliRun r = CliRun.of(eval("knn", "--arch", "resnet18"));
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("small-c1-v2-d128") && r.err().contains("resnet18"), r.err());
        CliRun bad = CliRun.of(eval("nearest"));
        assertNotEquals(0, bad.code());
        assertTrue(bad.err().contains("nearest"), bad.err());
    }

    @Test
    void pixelBaselinesNeedNoCheckpoint() throws IOException {
        Path out = dir.resolve("pixels.json");
        CliRun r = CliRun.of("eval", "pixels", "--limit-train", "1000", "--limit-test", "200", "--knn-k", "20",
                "--device", "cpu", "--workers", "1", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        Map<String, Object> result = JsonFiles.parse(out);
        // Raw-pixel kNN on Fashion-MNIST is far above chance (0.1) even on 1000 training images.
        double unit = (Double) result.get("pixels_unit"), standardised = (Double) result.get("pixels_standardised");
        assertTrue(unit > 0.5 && unit <= 1, "unit-normalised: " + unit);
        assertTrue(standardised > 0.5 && standardised <= 1, "standardised: " + standardised);
        assertTrue(r.out().startsWith("pixels kNN accuracy"), r.out());
        CliRun missing = CliRun.of("eval", "knn", "--device", "cpu");
        assertNotEquals(0, missing.code());
        assertTrue(missing.err().contains("needs --checkpoint"), missing.err());
    }
    @Test
    void theResultNeverReplacesTheCheckpoint() throws java.io.IOException {
        byte[] before = java.nio.file.Files.readAllBytes(checkpoint);
        CliRun r = CliRun.of(eval("knn", "--out", checkpoint.toString()));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("is the checkpoint"), r.err());
        org.junit.jupiter.api.Assertions.assertArrayEquals(before, java.nio.file.Files.readAllBytes(checkpoint));
    }

    /** The pixel baselines on a 3-channel data set (they once asked for a 1-channel normalisation). */
    @Test
    void pixelsRunOnThreeChannelImages() throws java.io.IOException {
        Path data = dir.resolve("rgb");
        for (String split : new String[] {"train", "test"})
            for (int c = 0; c < 2; c++)
                for (int i = 0; i < 6; i++) {
                    java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(4, 4,
                            java.awt.image.BufferedImage.TYPE_INT_RGB);
                    for (int y = 0; y < 4; y++)
                        for (int x = 0; x < 4; x++) img.setRGB(x, y, c == 0 ? 0xFF0000 + i * 8 : 0x0000FF + i * 0x800);
                    Path f = data.resolve(split + "/class" + c + "/" + i + ".png");
                    java.nio.file.Files.createDirectories(f.getParent());
                    javax.imageio.ImageIO.write(img, "png", f.toFile());
                }
        Path out = dir.resolve("pixels.json");
        CliRun r = CliRun.of("eval", "pixels", "--dataset", "folder", "--data-dir", data.toString(), "--knn-k", "3",
                "--device", "cpu", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("pixels kNN accuracy 1.0000 (unit-normalised), 1.0000 (standardised)"), r.out());
        // Without --out nothing is written, least of all into the working folder.
        try (var before = java.nio.file.Files.list(Path.of(""))) {
            java.util.Set<Path> files = before.collect(java.util.stream.Collectors.toSet());
            CliRun quiet = CliRun.of("eval", "pixels", "--dataset", "folder", "--data-dir", data.toString(),
                    "--knn-k", "3", "--device", "cpu");
            assertEquals(0, quiet.code(), quiet.err());
            assertTrue(quiet.out().contains("--out FILE writes it as JSON"), quiet.out());
            try (var after = java.nio.file.Files.list(Path.of(""))) {
                assertEquals(files, after.collect(java.util.stream.Collectors.toSet()));
            }
        }
    }
}
