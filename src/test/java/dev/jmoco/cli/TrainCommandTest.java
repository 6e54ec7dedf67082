package dev.jmoco.cli;

import dev.jmoco.io.Safetensors;
import dev.jmoco.train.JsonFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code jmoco train} through {@link Main#run}: a tiny real run on Fashion-MNIST, and its error messages. */
class TrainCommandTest {
    /**
     * {@code train} with the tiny settings (256 images, 8 steps of 32, kNN with k 20 on 256 test images: about a
     * second of training) and {@code overrides} ("--option", "value" pairs) replacing or adding options.
     */
    static String[] tiny(String... overrides) {
        Map<String, String> options = new LinkedHashMap<>();
        String[] base = {"--limit-train", "256", "--limit-test", "256", "--epochs", "1", "--batch", "32", "--queue",
                "128", "--bn-splits", "4", "--knn-k", "20", "--device", "cpu", "--workers", "1", "--log-every", "2"};
        for (int i = 0; i < base.length; i += 2) options.put(base[i], base[i + 1]);
        for (int i = 0; i < overrides.length; i += 2) options.put(overrides[i], overrides[i + 1]);
        List<String> args = new ArrayList<>(List.of("train"));
        options.forEach((k, v) -> { args.add(k); args.add(v); });
        return args.toArray(String[]::new);
    }

    @Test
    void tinyRunWritesEveryFile(@TempDir Path dir) throws IOException {
        CliRun r = CliRun.of(tiny("--out", dir.toString()));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("\repoch 1/1 ["), "progress bar with carriage returns: " + r.err());
        assertTrue(r.err().contains("img/s") && r.err().contains("acc@1") && r.err().contains("ETA"), r.err());
        assertTrue(r.err().lines().anyMatch(l -> l.contains("epoch 1/1  loss") && l.contains("knn 0.")), r.err());
        assertTrue(r.out().startsWith("done: 1 epochs"), r.out());

        Safetensors.Contents ckpt = Safetensors.read(dir.resolve("checkpoint.safetensors"));
        assertTrue(ckpt.tensors().containsKey("encoder_q.conv1.weight"));
        assertEquals("1", ckpt.metadata().get("epoch"));
        Map<String, Object> json = JsonFiles.parse(dir.resolve("checkpoint.json"));
        assertEquals(8L, json.get("global_step"));
        assertEquals("small-c1-v2-d128", json.get("architecture"));
        assertEquals(0L, json.get("queue_ptr"), "8 x 32 keys wrap a queue of 128 twice");
        assertEquals(32L, ((Map<?, ?>) json.get("config")).get("batch"));

        List<String> csv = Files.readAllLines(dir.resolve("metrics.csv"));
        assertEquals("kind,epoch,step,loss,acc1,acc5,lr,images_per_s,knn_acc,wall_s", csv.getFirst());
        assertEquals(4, csv.stream().filter(l -> l.startsWith("step,1,")).count(), "steps 2, 4, 6, 8");
        String epochRow = csv.stream().filter(l -> l.startsWith("epoch,1,8,")).findFirst().orElseThrow();
        double knn = Double.parseDouble(epochRow.split(",", -1)[8]);
        assertTrue(knn > 0.1 && knn <= 1, epochRow); // 10 classes: chance is 0.1

        Map<String, Object> summary = JsonFiles.parse(dir.resolve("summary.json"));
        assertEquals(knn, (Double) summary.get("knn_accuracy"), 5e-5, "summary matches the CSV (4 decimals)");
        assertTrue((Double) summary.get("images_per_s") > 0 && (Double) summary.get("wall_s") > 0, summary.toString());
        assertEquals(1L, summary.get("epochs"));

        BufferedImage png = ImageIO.read(dir.resolve("curves.png").toFile());
        assertNotNull(png);
        assertEquals(960, png.getWidth());
        try (var files = Files.list(dir)) {
            assertFalse(files.anyMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temp files left");
        }

        // --resume continues the saved run (its settings, here with 2 epochs in total) in the same folder.
        CliRun resumed = CliRun.of("train", "--resume", dir.toString(), "--epochs", "2");
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.err().contains("resuming at epoch 2"), resumed.err());
        assertEquals("2", Safetensors.read(dir.resolve("checkpoint.safetensors")).metadata().get("epoch"));
        List<String> after = Files.readAllLines(dir.resolve("metrics.csv"));
        assertEquals(1, after.stream().filter(l -> l.equals(epochRow)).count(), "epoch 1's row is kept as it was");
        assertTrue(after.stream().anyMatch(l -> l.startsWith("epoch,2,16,")), after.toString());

        // Another architecture cannot resume this run; the message names both.
        CliRun other = CliRun.of("train", "--resume", dir.toString(), "--arch", "resnet18", "--epochs", "3");
        assertNotEquals(0, other.code());
        assertEquals(1, other.err().lines().count(), other.err());
        assertTrue(other.err().contains("small-c1-v2-d128") && other.err().contains("resnet18-cifar-c1-v2-d128"),
                other.err());
    }

    @Test
    void missingDataDirNamesThePathAndTheExpectedFiles(@TempDir Path dir) {
        Path missing = dir.resolve("nowhere");
        CliRun r = CliRun.of(tiny("--data-dir", missing.toString(), "--out", dir.resolve("o").toString()));
        assertNotEquals(0, r.code());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains(missing.toString()) && r.err().contains("train-images-idx3-ubyte"), r.err());
        assertFalse(Files.exists(dir.resolve("o")), "nothing written");
    }

    @Test
    void queueSmallerThanTheBatchIsRejected() {
        CliRun r = CliRun.of(tiny("--queue", "16"));
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("queue 16") && r.err().contains("32"), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace without --verbose");
        List<String> args = new ArrayList<>(List.of(tiny("--queue", "16")));
        args.add("--verbose");
        CliRun verbose = CliRun.of(args.toArray(String[]::new));
        assertTrue(verbose.err().contains("\tat "), "stack trace with --verbose");
    }

    @Test
    void batchLargerThanTheDatasetIsRejected(@TempDir Path dir) {
        CliRun r = CliRun.of(tiny("--limit-train", "20", "--out", dir.toString()));
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("batch 32") && r.err().contains("20 training images"), r.err());
    }

    /**
     * An image folder end to end, as a user trains on their own images: JPEGs and PNGs of several sizes in
     * train/ and val/ class folders (javax.imageio's encoders), {@code train --image-size}, then {@code eval
     * linear} on val/ and {@code embed} of val/'s files, both at the checkpoint's size and normalisation.
     */
    @Test
    void anImageFolderOfManySizesTrainsEvaluatesAndEmbeds(@TempDir Path dir) throws IOException {
        java.util.Random r = new java.util.Random(3);
        for (String split : List.of("train", "val"))
            for (int i = 0; i < (split.equals("train") ? 24 : 8); i++) {
                int w = 20 + r.nextInt(40), h = 20 + r.nextInt(40);
                BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
                int base = i % 2 == 0 ? 0x402010 : 0x1040a0; // two classes of different colours
                for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, base + r.nextInt(0x202020));
                Path f = dir.resolve("data/" + split + "/c" + (i % 2) + "/" + i + (i % 3 == 0 ? ".png" : ".jpg"));
                Files.createDirectories(f.getParent());
                assertTrue(ImageIO.write(img, i % 3 == 0 ? "png" : "jpg", f.toFile()));
            }
        Path data = dir.resolve("data"), run = dir.resolve("run");
        CliRun train = CliRun.of("train", "--dataset", "folder", "--data-dir", data.toString(), "--image-size", "16",
                "--epochs", "1", "--batch", "8", "--queue", "16", "--bn-splits", "2", "--knn-k", "4", "--device",
                "cpu", "--workers", "2", "--out", run.toString());
        assertEquals(0, train.code(), train.err());
        assertTrue(train.err().contains("on folder (" + data + "), 24 images, 3 steps/epoch"), train.err());
        Map<String, Object> json = JsonFiles.parse(run.resolve("checkpoint.json"));
        assertEquals(16L, ((Map<?, ?>) json.get("config")).get("image_size"));
        Path checkpoint = run.resolve("checkpoint.safetensors");

        CliRun eval = CliRun.of("eval", "linear", "--checkpoint", checkpoint.toString(), "--epochs", "2",
                "--device", "cpu");
        assertEquals(0, eval.code(), eval.err());
        assertTrue(eval.out().contains("on 8 test images of folder"), eval.out());

        Path out = dir.resolve("val.safetensors");
        CliRun embed = CliRun.of("embed", "--checkpoint", checkpoint.toString(), "--input",
                data.resolve("val").toString(), "--output", out.toString(), "--device", "cpu");
        assertEquals(0, embed.code(), embed.err());
        Safetensors.Contents e = Safetensors.read(out);
        assertEquals(8, e.tensors().get("projections").shape()[0]);
        assertTrue(e.metadata().get("files").contains("c1/7.jpg"), e.metadata().get("files"));
    }
}
