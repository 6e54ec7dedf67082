package dev.jmoco.data;

import static dev.jmoco.testing.Tolerance.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The whole pipeline: determinism, resize against a double bilinear reference, exact flip, normalize,
 * grayscale and the 1-channel identities. Float results of pointwise maps: abs 1e-5 + rel 1e-5.
 */
class AugmenterTest {
    private static final Normalization RGB_NORM = Normalization.CIFAR10;
    private static final Normalization GREY_NORM = Normalization.FASHION_MNIST;

    private static byte[] image(int c, int h, int w, long seed) {
        byte[] b = new byte[c * h * w];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    private static float[] run(AugmentationRecipe recipe, byte[] img, int c, int h, int w, Normalization n, SplittableRandom rng) {
        Augmenter a = new Augmenter(recipe, c, h, w, n);
        float[] out = new float[a.outputSize()];
        a.augment(img, 0, rng, out, 0);
        return out;
    }

    @Test void equalSeedsGiveEqualViewsAndOtherSeedsDiffer() {
        byte[] img = image(3, 32, 32, 1);
        Augmenter a = new Augmenter(AugmentationRecipe.v2(32), 3, 32, 32, RGB_NORM);
        float[] x = new float[a.outputSize()], y = new float[a.outputSize()], z = new float[a.outputSize()];
        a.augment(img, 0, SampleRandom.forView(7, 3, 11, 0), x, 0);
        a.augment(img, 0, SampleRandom.forView(8, 3, 11, 0), z, 0); // scratch reuse must not leak into y
        a.augment(img, 0, SampleRandom.forView(7, 3, 11, 0), y, 0);
        assertArrayEquals(x, y);
        assertFalse(Arrays.equals(x, z));
        float[] otherView = new float[a.outputSize()];
        a.augment(img, 0, SampleRandom.forView(7, 3, 11, 1), otherView, 0);
        assertFalse(Arrays.equals(x, otherView));
    }

    @Test void noneOnlyNormalizes() {
        byte[] img = image(3, 5, 6, 2);
        float[] out = run(AugmentationRecipe.none(), img, 3, 5, 6, RGB_NORM, new SplittableRandom(0));
        double[] expected = new double[img.length];
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < 30; p++)
                expected[c * 30 + p] = ((img[c * 30 + p] & 0xFF) / 255.0 - RGB_NORM.mean(c)) / RGB_NORM.std(c);
        assertClose("normalize", expected, out, 1e-5, 1e-5);
    }

    @Test void flipMirrorsExactly() {
        byte[] img = image(3, 4, 7, 3);
        float[] plain = run(AugmentationRecipe.none(), img, 3, 4, 7, RGB_NORM, new SplittableRandom(0));
        float[] flipped = run(AugmentationRecipe.none().withFlipP(1), img, 3, 4, 7, RGB_NORM, new SplittableRandom(0));
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 7; x++)
                    assertEquals(plain[(c * 4 + y) * 7 + 6 - x], flipped[(c * 4 + y) * 7 + x], 0.0);
    }

    @Test void flipAndGrayscaleHappenWithTheirProbabilities() {
        byte[] img = image(3, 4, 7, 4);
        float[] plain = run(AugmentationRecipe.none(), img, 3, 4, 7, RGB_NORM, new SplittableRandom(0));
        Augmenter flip = new Augmenter(AugmentationRecipe.none().withFlipP(0.5), 3, 4, 7, RGB_NORM);
        Augmenter grey = new Augmenter(AugmentationRecipe.none().withGrayscaleP(0.2), 3, 4, 7, RGB_NORM);
        float[] out = new float[flip.outputSize()];
        int n = 4000, flips = 0, greys = 0;
        for (int i = 0; i < n; i++) {
            flip.augment(img, 0, SampleRandom.forView(1, 0, i, 0), out, 0);
            if (!Arrays.equals(out, plain)) flips++;
            grey.augment(img, 0, SampleRandom.forView(1, 0, i, 0), out, 0);
            if (!Arrays.equals(out, plain)) greys++;
        }
        // binomial sd: sqrt(n p (1-p)) = 32 and 25; allow 4 sd
        assertEquals(0.5 * n, flips, 130);
        assertEquals(0.2 * n, greys, 100);
    }

    @Test void grayscaleUsesLumaOnEveryChannel() {
        byte[] img = image(3, 3, 3, 5);
        float[] out = run(AugmentationRecipe.none().withGrayscaleP(1), img, 3, 3, 3, RGB_NORM, new SplittableRandom(0));
        double[] expected = new double[27];
        for (int p = 0; p < 9; p++) {
            double luma = (0.299 * (img[p] & 0xFF) + 0.587 * (img[9 + p] & 0xFF) + 0.114 * (img[18 + p] & 0xFF)) / 255;
            for (int c = 0; c < 3; c++) expected[c * 9 + p] = (luma - RGB_NORM.mean(c)) / RGB_NORM.std(c);
        }
        assertClose("grayscale", expected, out, 1e-5, 1e-5);
    }

    @Test void colourPartsAreIdentitiesForOneChannel() {
        byte[] img = image(1, 8, 8, 6);
        AugmentationRecipe colourOnly = AugmentationRecipe.none().withJitter(0, 0, 0.9, 0.5).withJitterP(1).withGrayscaleP(1);
        float[] plain = run(AugmentationRecipe.none(), img, 1, 8, 8, GREY_NORM, new SplittableRandom(0));
        assertArrayEquals(plain, run(colourOnly, img, 1, 8, 8, GREY_NORM, new SplittableRandom(3)));
    }

    @Test void oneChannelV2StaysInTheNormalizedRange() {
        byte[] img = image(1, 28, 28, 7);
        Augmenter a = new Augmenter(AugmentationRecipe.v2(28), 1, 28, 28, GREY_NORM);
        float[] out = new float[a.outputSize()];
        float lo = -GREY_NORM.mean(0) / GREY_NORM.std(0), hi = (1 - GREY_NORM.mean(0)) / GREY_NORM.std(0);
        for (int i = 0; i < 200; i++) {
            a.augment(img, 0, SampleRandom.forView(2, 0, i, 0), out, 0);
            for (float v : out) assertTrue(v >= lo - 1e-5 && v <= hi + 1e-5, "value " + v);
        }
    }

    @Test void resizeIsBilinearWithHalfPixelCentres() {
        // crop rows 3..12 and columns 5..16 of a 2-channel 16x20 image, enlarged to 28x28
        int c = 2, h = 16, w = 20, top = 3, left = 5, ch = 10, cw = 12, out = 28;
        byte[] img = image(c, h, w, 8);
        ResizeAxis rows = new ResizeAxis(), cols = new ResizeAxis();
        rows.configure(top, ch, out, false, 1);
        cols.configure(left, cw, out, false, 1);
        float[] dst = new float[c * out * out];
        ResizeAxis.resize(img, 0, c, h, w, rows, cols, new float[c * ch * out], dst, 0);
        double[] expected = new double[dst.length];
        for (int k = 0; k < c; k++)
            for (int y = 0; y < out; y++)
                for (int x = 0; x < out; x++) {
                    double sy = Math.clamp((y + 0.5) * ch / out - 0.5, 0, ch - 1);
                    double sx = Math.clamp((x + 0.5) * cw / out - 0.5, 0, cw - 1);
                    int y0 = (int) sy, x0 = (int) sx, y1 = Math.min(y0 + 1, ch - 1), x1 = Math.min(x0 + 1, cw - 1);
                    double fy = sy - y0, fx = sx - x0;
                    expected[(k * out + y) * out + x] =
                            (1 - fy) * ((1 - fx) * px(img, k, h, w, top + y0, left + x0) + fx * px(img, k, h, w, top + y0, left + x1))
                                    + fy * ((1 - fx) * px(img, k, h, w, top + y1, left + x0) + fx * px(img, k, h, w, top + y1, left + x1));
                }
        assertClose("bilinear", expected, dst, 1e-3, 1e-5); // values 0..255
    }

    @Test void shrinkingAveragesWithTheWidenedTriangle() {
        // 2x shrink: each output weighs its 4 nearest inputs 1/8, 3/8, 3/8, 1/8 (edges renormalised)
        byte[] img = {10, 20, 30, 40, 50, 60, 70, (byte) 200};
        ResizeAxis rows = new ResizeAxis(), cols = new ResizeAxis();
        rows.configure(0, 1, 1, false, 1);
        cols.configure(0, 8, 4, false, 1);
        float[] dst = new float[4];
        ResizeAxis.resize(img, 0, 1, 1, 8, rows, cols, new float[4], dst, 0);
        double[] expected = {
                (3 * 10 + 3 * 20 + 30) / 7.0,
                (20 + 3 * 30 + 3 * 40 + 50) / 8.0,
                (40 + 3 * 50 + 3 * 60 + 70) / 8.0,
                (60 + 3 * 70 + 3 * 200) / 7.0};
        assertClose("antialiased shrink", expected, dst, 1e-4, 1e-6);
    }

    private static double px(byte[] img, int c, int h, int w, int y, int x) {
        return img[(c * h + y) * w + x] & 0xFF;
    }

    @Test void recipesCarryThePapersParameters() {
        AugmentationRecipe v1 = AugmentationRecipe.v1(224), v2 = AugmentationRecipe.named("V2", 32);
        assertEquals(0.2, v1.cropScaleMin());
        assertEquals(0.4, v1.hue());
        assertEquals(1, v1.jitterP());
        assertTrue(v1.grayscaleFirst());
        assertEquals(0, v1.blurP());
        assertEquals(0.1, v2.hue());
        assertEquals(0.8, v2.jitterP());
        assertEquals(0.2, v2.grayscaleP());
        assertEquals(0.5, v2.blurP());
        assertEquals(32, v2.outputHeight(28));
        assertEquals(28, AugmentationRecipe.none().outputWidth(28));
        AugmentationRecipe tuned = v2.withCropScaleMin(0.5).withJitter(0.4, 0.4, 0, 0).withBlurP(0).withCropSize(28);
        assertEquals(0.5, tuned.cropScaleMin());
        assertEquals(0, tuned.saturation());
        assertEquals(28, tuned.cropSize());
        assertThrows(IllegalArgumentException.class, () -> v2.withCropScaleMin(0));
        assertThrows(IllegalArgumentException.class, () -> v2.withBlurP(1.5));
        assertThrows(IllegalArgumentException.class, () -> AugmentationRecipe.named("v3", 32));
    }
}
