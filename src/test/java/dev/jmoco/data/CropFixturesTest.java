package dev.jmoco.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Crops and resizes against PIL + torchvision 0.14 on the same real files (src/test/resources/crops, written by
 * tools/golden/make_crop_fixtures.py): the evaluation view (Resize(round(N 256 / 224)), CenterCrop(N)) through
 * {@link Augmenter} with {@link AugmentationRecipe#evaluation}, and the resize of a RandomResizedCrop box
 * (F.resized_crop) through {@link ResizeAxis} as the augmenter configures it. The input is PIL's own decode of
 * each file (NAME.npy), so only the crop and resize are compared.
 * <p>
 * Tolerance: PIL resamples 8-bit images in fixed point and rounds to 8 bits between its horizontal and vertical
 * passes; jmoco keeps floats throughout and rounds once. So a sample may differ by one level from each rounding:
 * at most 1 of 255 observed anywhere, 0.08-0.21 on average; the bounds are 1 and 0.25.
 */
class CropFixturesTest {
    private static final Path DIR = Path.of("src/test/resources/crops");
    private static final int MAX_DIFFERENCE = 1;
    private static final double MAX_MEAN_DIFFERENCE = 0.25;

    record Case(String file, String kind, int n, int top, int left, int height, int width, String reference) {
        @Override public String toString() { return file + " " + kind + " " + n + (kind.equals("crop")
                ? " box " + top + "," + left + " " + height + "x" + width : ""); }
    }

    static Stream<Case> cases() throws IOException {
        List<String> lines = Files.readAllLines(DIR.resolve("manifest.tsv"));
        return lines.stream().filter(l -> !l.startsWith("#") && !l.isBlank()).map(l -> {
            String[] f = l.split("\t", -1);
            boolean crop = f[1].equals("crop");
            return new Case(f[0], f[1], Integer.parseInt(f[2]), crop ? Integer.parseInt(f[3]) : 0,
                    crop ? Integer.parseInt(f[4]) : 0, crop ? Integer.parseInt(f[5]) : 0,
                    crop ? Integer.parseInt(f[6]) : 0, f[7]);
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesTorchvision(Case c) throws IOException {
        DecodedImage source = ImageFixturesTest.npy(DIR.resolve(c.file() + ".npy"));
        DecodedImage expected = ImageFixturesTest.npy(DIR.resolve(c.reference()));
        assertEquals(c.n() + "x" + c.n(), expected.width() + "x" + expected.height(), c + ": reference size");
        byte[] chw = source.planes(3);
        int h = source.height(), w = source.width(), n = c.n();
        float[] view = new float[3 * n * n];
        if (c.kind().equals("eval")) {
            Augmenter eval = new Augmenter(AugmentationRecipe.evaluation(n), 3, n, n, Normalization.IDENTITY
                    .forChannels(3));
            eval.augment(chw, 0, h, w, new SplittableRandom(0), view, 0);
            for (int i = 0; i < view.length; i++) view[i] *= 255; // the identity normalisation leaves [0, 1]
        } else {
            ResizeAxis rows = new ResizeAxis(), cols = new ResizeAxis();
            rows.configure(c.top(), c.height(), n, false, 1);
            cols.configure(c.left(), c.width(), n, false, 1);
            float[] tmp = new float[3 * (rows.maxInput() - rows.minInput()) * n];
            ResizeAxis.resize(chw, 0, 3, h, w, rows, cols, tmp, view, 0);
        }
        int max = 0;
        long sum = 0;
        byte[] ref = expected.pixels(); // H x W x 3
        for (int ch = 0; ch < 3; ch++)
            for (int p = 0; p < n * n; p++) {
                int ours = Math.max(0, Math.min(255, Math.round(view[ch * n * n + p])));
                int d = Math.abs(ours - (ref[3 * p + ch] & 0xFF));
                max = Math.max(max, d);
                sum += d;
            }
        double mean = (double) sum / (3.0 * n * n);
        assertTrue(max <= MAX_DIFFERENCE, c + ": largest difference " + max + " > " + MAX_DIFFERENCE);
        assertTrue(mean <= MAX_MEAN_DIFFERENCE, c + ": mean difference " + mean + " > " + MAX_MEAN_DIFFERENCE);
        System.out.printf("%s: max %d, mean %.4f%n", c, max, mean);
    }
}
