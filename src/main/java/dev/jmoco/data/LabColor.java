package dev.jmoco.data;

/**
 * sRGB to CIE Lab (D65 white, 2-degree observer), as scikit-image's {@code rgb2lab} and the CIE formulas:
 * the sRGB transfer curve undone, linear RGB to XYZ by the sRGB matrix, XYZ over the D65 white, then
 * L = 116 f(Y) - 16, a = 500 (f(X) - f(Y)), b = 200 (f(Y) - f(Z)) with f(t) = t^(1/3) above 0.008856 and
 * 7.787 t + 16 / 116 below. L is in [0, 100]; a and b in about [-128, 127]. Contrastive Multiview Coding splits
 * an image into its L view and its ab view this way. Planar (CHW) like the loader's views.
 */
public final class LabColor {
    /**
     * CMC's normalisation of Lab values (HobbitLong/CMC, train_CMC.py): each channel's range [lo, hi] mapped to
     * [-1, 1], mean (lo + hi) / 2 and std (hi - lo) / 2, with L in [0, 100], a in [-86.183, 98.233] and b in
     * [-107.857, 94.478] (the extremes over the sRGB gamut).
     */
    public static final Normalization NORMALIZATION = Normalization.of(
            new double[] {50, (-86.183 + 98.233) / 2, (-107.857 + 94.478) / 2},
            new double[] {50, (86.183 + 98.233) / 2, (107.857 + 94.478) / 2});

    /** skimage.color's xyz_from_rgb (sRGB primaries, D65). */
    private static final double[] RGB_TO_XYZ = {
            0.412453, 0.357580, 0.180423,
            0.212671, 0.715160, 0.072169,
            0.019334, 0.119193, 0.950227};
    /** The D65 white for the 2-degree observer, X and Z (Y is 1). */
    private static final double WHITE_X = 0.95047, WHITE_Z = 1.08883;

    private LabColor() {}

    /**
     * Converts {@code pixels} RGB pixels, planes of {@code rgb} at {@code from} (R, then G, then B; values in
     * [0, 1]), into L, a and b planes of {@code lab} at {@code to}. The arrays may be the same, with the same
     * offsets: each pixel is read before it is written.
     */
    public static void fromRgb(float[] rgb, int from, int pixels, float[] lab, int to) {
        for (int i = 0; i < pixels; i++) {
            double r = linear(rgb[from + i]), g = linear(rgb[from + pixels + i]), b = linear(rgb[from + 2 * pixels + i]);
            double x = (RGB_TO_XYZ[0] * r + RGB_TO_XYZ[1] * g + RGB_TO_XYZ[2] * b) / WHITE_X;
            double y = RGB_TO_XYZ[3] * r + RGB_TO_XYZ[4] * g + RGB_TO_XYZ[5] * b;
            double z = (RGB_TO_XYZ[6] * r + RGB_TO_XYZ[7] * g + RGB_TO_XYZ[8] * b) / WHITE_Z;
            double fx = f(x), fy = f(y), fz = f(z);
            lab[to + i] = (float) (116 * fy - 16);
            lab[to + pixels + i] = (float) (500 * (fx - fy));
            lab[to + 2 * pixels + i] = (float) (200 * (fy - fz));
        }
    }

    /** The sRGB transfer curve undone. */
    private static double linear(double c) {
        return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    }

    private static double f(double t) {
        return t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16.0 / 116;
    }
}
