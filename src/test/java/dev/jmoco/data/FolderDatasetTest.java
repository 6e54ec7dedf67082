package dev.jmoco.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An image folder as a data set whose images stay in their files (JPEGs and PNGs of several sizes written by
 * javax.imageio's encoders): decoded by the loader's threads when a batch is prepared, cropped and resized to
 * the configured size, evaluated by centre crops; failures name the file.
 */
class FolderDatasetTest {
    private static final int[][] SIZES = {{50, 37}, {64, 64}, {31, 90}, {120, 45}, {40, 40}, {77, 52}};

    @TempDir Path dir;

    /** Class folders a and b, three images each of the sizes above, noisy RGB. */
    private void writeFolder() throws IOException {
        Random r = new Random(4);
        for (int i = 0; i < SIZES.length; i++) {
            int w = SIZES[i][0], h = SIZES[i][1];
            BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, r.nextInt(1 << 24));
            Path file = dir.resolve("train/" + (i % 2 == 0 ? "a" : "b") + "/" + i + (i % 3 == 0 ? ".png" : ".jpg"));
            Files.createDirectories(file.getParent());
            assertTrue(ImageIO.write(img, i % 3 == 0 ? "png" : "jpg", file.toFile()));
        }
    }

    @Test void trainingViewsAreCroppedFromEachDecodedImageAtTheGivenSize() throws IOException {
        writeFolder();
        Dataset data = Datasets.open("folder", dir, "train", 24);
        assertTrue(data.inFiles() && data.resizes());
        assertEquals(24, data.height());
        assertEquals(AugmentationRecipe.evaluation(24), data.evaluationRecipe());
        AugmentationRecipe v2 = AugmentationRecipe.v2(0);
        try (Loader loader = Loader.builder(data).training(v2, 5).batchSize(3).threads(2).build();
             Loader.Epoch epoch = loader.epoch(1)) {
            assertEquals(3 * 24 * 24, loader.sampleLength());
            Augmenter reference = new Augmenter(v2, 3, 24, 24, data.normalization());
            float[] expected = new float[loader.sampleLength()];
            int seen = 0;
            while (epoch.hasNext()) {
                try (Batch b = epoch.next()) {
                    for (int s = 0; s < b.size(); s++, seen++) {
                        int idx = b.indices()[s];
                        DecodedImage img = ImageFiles.decode(data.file(idx));
                        for (int v = 0; v < 2; v++) {
                            reference.augment(img.planes(3), 0, img.height(), img.width(),
                                    SampleRandom.forView(5, 1, idx, v), expected, 0);
                            assertArrayEquals(expected, Arrays.copyOfRange(b.view(v), s * expected.length,
                                    (s + 1) * expected.length), data.file(idx) + " view " + v);
                        }
                    }
                }
            }
            assertEquals(SIZES.length, seen);
        }
    }

    @Test void evaluationViewsAreCentreCropsAndStatisticsComeFromThem() throws IOException {
        writeFolder();
        Dataset data = Datasets.open("folder", dir, "train", 16);
        try (Loader loader = Loader.builder(data).batchSize(SIZES.length).threads(1).build();
             Loader.Epoch epoch = loader.epoch(0); Batch b = epoch.next()) {
            double[] sum = new double[3];
            for (int s = 0; s < SIZES.length; s++) {
                byte[] image = data.image(s);
                for (int c = 0; c < 3; c++)
                    for (int p = 0; p < 256; p++) {
                        // the view is the normalised centre crop; image() is the same crop rounded to bytes
                        float v = b.view(0)[s * 768 + c * 256 + p];
                        float unit = v * data.normalization().std(c) + data.normalization().mean(c);
                        assertEquals((image[c * 256 + p] & 0xFF) / 255.0, unit, 0.5 / 255 + 1e-5);
                        sum[c] += (image[c * 256 + p] & 0xFF) / 255.0;
                    }
            }
            for (int c = 0; c < 3; c++) // fewer images than the sample: the statistics are of all of them
                assertEquals(sum[c] / (SIZES.length * 256), data.normalization().mean(c), 1e-5);
        }
    }

    @Test void imagesAreReadWhenABatchNeedsThemAndAMissingFileIsNamed() throws IOException {
        writeFolder();
        Dataset data = Datasets.open("folder", dir, "train", 16);
        Path gone = data.file(4);
        Files.delete(gone); // after opening: a set in memory would not notice
        try (Loader loader = Loader.builder(data).batchSize(SIZES.length).threads(2).build();
             Loader.Epoch epoch = loader.epoch(0)) {
            var e = assertThrows(BatchPreparationException.class, epoch::next);
            assertInstanceOf(DatasetFormatException.class, e.getCause());
            assertTrue(e.getMessage().contains(gone.toString()), e.getMessage());
        }
    }

    @Test void withSkippingAnUndecodableImageIsReplacedByTheNextAndCounted() throws IOException {
        writeFolder();
        Dataset data = Datasets.open("folder", dir, "train", 16);
        Path bad = data.file(2);
        Files.write(bad, Arrays.copyOf(Files.readAllBytes(bad), 300)); // truncated after opening
        try (Loader loader = Loader.builder(data).batchSize(SIZES.length).threads(2).skipUndecodable(true).build()) {
            for (int epoch = 0; epoch < 2; epoch++)
                try (Loader.Epoch e = loader.epoch(epoch); Batch b = e.next()) {
                    // in order: sample 2 is image 3, with its label, in place of the truncated file
                    assertArrayEquals(new int[] {0, 1, 3, 3, 4, 5}, b.indices());
                    assertEquals(data.label(3), b.labels()[2]);
                    assertArrayEquals(Arrays.copyOfRange(b.view(0), 3 * 768, 4 * 768),
                            Arrays.copyOfRange(b.view(0), 2 * 768, 3 * 768));
                }
            assertEquals(2, loader.skippedImages(), "counted each time it is met");
            assertTrue(loader.firstSkipped().startsWith(bad + ": "), loader.firstSkipped());
        }
    }

    @Test void withoutASizeImagesMustShareTheFirstOnesAndTheOptionIsNamed() throws IOException {
        writeFolder();
        var e = assertThrows(DatasetFormatException.class, () -> Datasets.open("folder", dir, "train", 0));
        assertTrue(e.getMessage().contains("differs from") && e.getMessage().contains("--image-size"), e.getMessage());
    }

    @Test void aSizeIsRefusedForDataSetsOfOneSize() {
        var e = assertThrows(IllegalArgumentException.class, () -> Datasets.open("cifar10", dir, "train", 32));
        assertTrue(e.getMessage().contains("image folders"), e.getMessage());
    }

    @Test void theTestSplitTakesTheTrainingSize() throws IOException {
        writeFolder();
        for (String c : new String[] {"a", "b"}) {
            Path f = dir.resolve("val/" + c + "/x.png");
            Files.createDirectories(f.getParent());
            ImageIO.write(new BufferedImage(70 + c.length(), 33, BufferedImage.TYPE_INT_RGB), "png", f.toFile());
        }
        Dataset train = Datasets.open("folder", dir, "train", 20);
        Dataset test = Datasets.openTest("folder", dir, train);
        assertEquals(20, test.height());
        assertTrue(test.resizes());
        assertEquals(train.normalization(), test.normalization());
        assertEquals(2, test.size());
    }
}
