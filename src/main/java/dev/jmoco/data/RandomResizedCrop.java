package dev.jmoco.data;

import java.util.SplittableRandom;

/**
 * torchvision's RandomResizedCrop.get_params: up to 10 tries of an area fraction uniform in
 * [scaleMin, scaleMax] and a log-uniform aspect ratio in [ratioMin, ratioMax], rounded half to even as
 * Python's round; the first crop that fits is placed uniformly. When none fits, the central crop of the
 * whole image clamped to the ratio bounds.
 */
final class RandomResizedCrop {
    private static final int TRIES = 10;

    /** A crop window of an image. */
    record Crop(int top, int left, int height, int width) {}

    private RandomResizedCrop() {}

    static Crop sample(int height, int width, double scaleMin, double scaleMax, double ratioMin, double ratioMax,
                       SplittableRandom rng) {
        double area = (double) height * width;
        double logMin = Math.log(ratioMin), logMax = Math.log(ratioMax);
        for (int i = 0; i < TRIES; i++) {
            double target = area * uniform(rng, scaleMin, scaleMax);
            double aspect = Math.exp(uniform(rng, logMin, logMax));
            int w = (int) Math.rint(Math.sqrt(target * aspect));
            int h = (int) Math.rint(Math.sqrt(target / aspect));
            if (w > 0 && w <= width && h > 0 && h <= height)
                return new Crop(rng.nextInt(height - h + 1), rng.nextInt(width - w + 1), h, w);
        }
        double inRatio = (double) width / height;
        int w = width, h = height;
        if (inRatio < ratioMin) h = (int) Math.rint(w / ratioMin);
        else if (inRatio > ratioMax) w = (int) Math.rint(h * ratioMax);
        return new Crop((height - h) / 2, (width - w) / 2, h, w);
    }

    /** Uniform in [a, b]; a == b gives a (SplittableRandom refuses an empty range). */
    static double uniform(SplittableRandom rng, double a, double b) {
        return a == b ? a : rng.nextDouble(a, b);
    }
}
