package dev.jmoco.data;

import static dev.jmoco.testing.Tolerance.assertClose;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The colour functions against hand-written double-precision formulas (torchvision's definitions). Float
 * arithmetic on values in [0, 1]: tolerance abs 1e-6 + rel 1e-6 (a few float ulps of the blend).
 */
class ColorOpsTest {
    private static final double ABS = 1e-6, REL = 1e-6;
    private static final int PLANE = 35;

    private static float[] image(int channels, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] img = new float[channels * PLANE];
        for (int i = 0; i < img.length; i++) img[i] = (float) rng.nextDouble();
        img[0] = 0; img[1] = 1; // the edges of the range
        return img;
    }

    private static double clamp(double x) { return Math.min(1, Math.max(0, x)); }

    private static double luma(float[] img, int p) {
        return 0.299 * img[p] + 0.587 * img[p + PLANE] + 0.114 * img[p + 2 * PLANE];
    }

    @Test void brightnessMultipliesAndClamps() {
        for (int channels : new int[] {1, 3}) {
            float[] img = image(channels, 1), out = img.clone();
            ColorOps.brightness(out, 0, channels, PLANE, 1.35f);
            double[] expected = new double[img.length];
            for (int i = 0; i < img.length; i++) expected[i] = clamp(1.35 * img[i]);
            assertClose("brightness " + channels, expected, out, ABS, REL);
        }
    }

    @Test void contrastBlendsTowardsTheGreyMean() {
        float[] img = image(3, 2), out = img.clone();
        ColorOps.contrast(out, 0, 3, PLANE, 0.7f);
        double mean = 0;
        for (int p = 0; p < PLANE; p++) mean += luma(img, p);
        mean /= PLANE;
        double[] expected = new double[img.length];
        for (int i = 0; i < img.length; i++) expected[i] = clamp(0.7 * img[i] + 0.3 * mean);
        assertClose("contrast rgb", expected, out, ABS, REL);
    }

    @Test void contrastOfOneChannelUsesTheImageMean() {
        float[] img = image(1, 3), out = img.clone();
        ColorOps.contrast(out, 0, 1, PLANE, 1.4f);
        double mean = 0;
        for (float v : img) mean += v;
        mean /= PLANE;
        double[] expected = new double[img.length];
        for (int i = 0; i < img.length; i++) expected[i] = clamp(1.4 * img[i] - 0.4 * mean);
        assertClose("contrast grey", expected, out, ABS, REL);
    }

    @Test void saturationBlendsEachPixelWithItsLuma() {
        float[] img = image(3, 4), out = img.clone();
        ColorOps.saturation(out, 0, 3, PLANE, 1.3f);
        double[] expected = new double[img.length];
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < PLANE; p++) expected[c * PLANE + p] = clamp(1.3 * img[c * PLANE + p] - 0.3 * luma(img, p));
        assertClose("saturation", expected, out, ABS, REL);
    }

    @Test void grayscaleUsesItu601Weights() {
        float[] img = image(3, 5), out = img.clone();
        ColorOps.grayscale(out, 0, 3, PLANE);
        double[] expected = new double[img.length];
        for (int c = 0; c < 3; c++) for (int p = 0; p < PLANE; p++) expected[c * PLANE + p] = luma(img, p);
        assertClose("grayscale", expected, out, ABS, REL);
    }

    @Test void oneThirdHueTurnRotatesTheChannels() {
        // a hue rotation by 120 degrees keeps max, min and the spacing: red -> green -> blue -> red
        float[] img = image(3, 6);
        float[] plus = img.clone(), minus = img.clone();
        ColorOps.hue(plus, 0, 3, PLANE, 1f / 3);
        ColorOps.hue(minus, 0, 3, PLANE, -1f / 3);
        double[] expPlus = new double[img.length], expMinus = new double[img.length];
        for (int p = 0; p < PLANE; p++) {
            float r = img[p], g = img[p + PLANE], b = img[p + 2 * PLANE];
            expPlus[p] = b; expPlus[p + PLANE] = r; expPlus[p + 2 * PLANE] = g;
            expMinus[p] = g; expMinus[p + PLANE] = b; expMinus[p + 2 * PLANE] = r;
        }
        assertClose("hue +1/3", expPlus, plus, 1e-5, 1e-5);
        assertClose("hue -1/3", expMinus, minus, 1e-5, 1e-5);
    }

    @Test void hueByHand() {
        // orange (1, 0.5, 0) has hue 30 degrees; +30 degrees (1/12 turn) is yellow (1, 1, 0);
        // (0.2, 0.4, 0.8): hue 220 degrees, s 0.75, v 0.8; -100 degrees -> 120: pure green hue (0.2, 0.8, 0.2)
        float[] img = {1, 0.2f, 0.5f, 0.4f, 0, 0.8f};
        float[] a = {1, 0.5f, 0}, b = {0.2f, 0.4f, 0.8f};
        ColorOps.hue(a, 0, 3, 1, 1f / 12);
        ColorOps.hue(b, 0, 3, 1, -100f / 360);
        assertClose("orange -> yellow", new double[] {1, 1, 0}, a, 1e-6, 1e-6);
        assertClose("blue -> green", new double[] {0.2, 0.8, 0.2}, b, 1e-6, 1e-5);
        float[] same = img.clone();
        ColorOps.hue(same, 0, 3, 2, 0);
        assertClose("zero shift", img, same, 1e-6, 1e-6);
    }

    @Test void colourOperationsAreIdentitiesOnOneChannel() {
        float[] img = image(1, 7), out = img.clone();
        ColorOps.saturation(out, 0, 1, PLANE, 0.2f);
        ColorOps.hue(out, 0, 1, PLANE, 0.3f);
        ColorOps.grayscale(out, 0, 1, PLANE);
        assertClose("grey identities", img, out, 0, 0);
    }
}
