package dev.jmoco.data;

import static dev.jmoco.testing.Tolerance.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The blur against a direct 2-D convolution in double with reflect padding; tolerance abs 1e-6 + rel 1e-5. */
class GaussianBlurTest {
    @Test void kernelSizeIsAboutTenPercentAndOdd() {
        assertEquals(3, GaussianBlur.kernelSize(28));
        assertEquals(3, GaussianBlur.kernelSize(32));
        assertEquals(5, GaussianBlur.kernelSize(50));
        assertEquals(11, GaussianBlur.kernelSize(100));
        assertEquals(23, GaussianBlur.kernelSize(224));
    }

    @Test void kernelIsTheNormalisedGaussian() {
        GaussianBlur blur = new GaussianBlur();
        for (double sigma : new double[] {0.1, 0.7, 2}) {
            blur.setKernel(7, sigma);
            float[] k = blur.kernel();
            double[] expected = new double[7];
            double sum = 0;
            for (int i = 0; i < 7; i++) sum += expected[i] = Math.exp(-(i - 3) * (i - 3) / (2 * sigma * sigma));
            for (int i = 0; i < 7; i++) expected[i] /= sum;
            assertClose("kernel sigma " + sigma, expected, k, 1e-7, 1e-6);
            double total = 0;
            for (float v : k) total += v;
            assertEquals(1, total, 1e-6, "kernel sum");
        }
    }

    @Test void constantImageIsUnchanged() {
        GaussianBlur blur = new GaussianBlur();
        blur.setKernel(5, 1.5);
        float[] img = new float[2 * 6 * 4];
        java.util.Arrays.fill(img, 0.625f);
        blur.apply(img, 0, 2, 6, 4);
        double[] expected = new double[img.length];
        java.util.Arrays.fill(expected, 0.625);
        assertClose("constant", expected, img, 1e-6, 1e-6);
    }

    @Test void matchesADirectConvolutionWithReflectPadding() {
        check(3, 7, 9, 5, 1.3);
    }

    /** A small sigma in a wide kernel (MoCo v2 at 224 px: 23 taps, sigma from 0.1): the skipped taps change nothing. */
    @Test void aSmallSigmaInAWideKernelMatchesTheFullConvolution() {
        check(2, 30, 31, 23, 0.1);
        check(1, 30, 31, 23, 0.6);
        check(1, 30, 31, 23, 2.0);
    }

    private static void check(int c, int h, int w, int k, double sigma) {
        int half = k / 2;
        float[] img = new float[c * h * w];
        SplittableRandom rng = new SplittableRandom(9);
        for (int i = 0; i < img.length; i++) img[i] = (float) rng.nextDouble();
        double[] g = new double[k];
        double sum = 0;
        for (int i = 0; i < k; i++) sum += g[i] = Math.exp(-(i - half) * (i - half) / (2 * sigma * sigma));
        double[] expected = new double[img.length];
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    double acc = 0;
                    for (int dy = 0; dy < k; dy++)
                        for (int dx = 0; dx < k; dx++)
                            acc += g[dy] / sum * g[dx] / sum
                                    * img[ch * h * w + reflect(y + dy - half, h) * w + reflect(x + dx - half, w)];
                    expected[ch * h * w + y * w + x] = acc;
                }
        GaussianBlur blur = new GaussianBlur();
        blur.setKernel(k, sigma);
        float[] out = new float[img.length + 4];
        System.arraycopy(img, 0, out, 4, img.length); // at an offset
        blur.apply(out, 4, c, h, w);
        assertClose("blur k " + k + " sigma " + sigma, expected, java.util.Arrays.copyOfRange(out, 4, out.length),
                1e-6, 1e-5);
    }

    /** Reflect without repeating the edge, written out for one bounce. */
    private static int reflect(int i, int n) {
        return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i);
    }

    @Test void reflectIndex() {
        assertEquals(1, GaussianBlur.reflect(-1, 5));
        assertEquals(2, GaussianBlur.reflect(-2, 5));
        assertEquals(3, GaussianBlur.reflect(5, 5));
        assertEquals(0, GaussianBlur.reflect(8, 5));
        assertEquals(0, GaussianBlur.reflect(3, 1));
    }
}
