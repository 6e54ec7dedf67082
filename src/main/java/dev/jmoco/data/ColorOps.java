package dev.jmoco.data;

/**
 * torchvision's colour functions on a float CHW image in [0, 1] stored at {@code off} in {@code img}, with
 * {@code plane} = height x width pixels per channel. Each result is clamped to [0, 1] as torchvision's
 * {@code _blend} does. For 1-channel images saturation, hue and grayscale are identities (a grey image has
 * no colour to change), contrast blends towards the image mean and brightness multiplies.
 */
final class ColorOps {
    /** ITU-R 601 luma weights, as PIL's convert("L"). */
    static final float RED = 0.299f, GREEN = 0.587f, BLUE = 0.114f;

    private ColorOps() {}

    /** x = clamp(f x). */
    static void brightness(float[] img, int off, int channels, int plane, float f) {
        for (int i = off, end = off + channels * plane; i < end; i++) img[i] = clamp(f * img[i]);
    }

    /** x = clamp(f x + (1 - f) m), m the mean of the image's grayscale (of the image itself for 1 channel). */
    static void contrast(float[] img, int off, int channels, int plane, float f) {
        double sum = 0;
        if (channels == 3) {
            for (int p = off; p < off + plane; p++) sum += gray(img, p, plane);
        } else {
            for (int i = off, end = off + channels * plane; i < end; i++) sum += img[i];
            sum /= channels;
        }
        float bias = (1 - f) * (float) (sum / plane);
        for (int i = off, end = off + channels * plane; i < end; i++) img[i] = clamp(f * img[i] + bias);
    }

    /** x = clamp(f x + (1 - f) gray(x)) per pixel; identity unless 3 channels. */
    static void saturation(float[] img, int off, int channels, int plane, float f) {
        if (channels != 3) return;
        float g0 = 1 - f;
        for (int p = off; p < off + plane; p++) {
            float g = g0 * gray(img, p, plane);
            img[p] = clamp(f * img[p] + g);
            img[p + plane] = clamp(f * img[p + plane] + g);
            img[p + 2 * plane] = clamp(f * img[p + 2 * plane] + g);
        }
    }

    /**
     * Rotates the hue by {@code shift} (in turns, [-0.5, 0.5]); identity unless 3 channels. Same result as
     * torchvision's RGB -> HSV -> RGB round trip (value and saturation kept), computed without the round trip:
     * max and min stay, and each channel is max - chroma x clamp(min(k, 4 - k), 0, 1) with k = (n + 6 hue)
     * mod 6, n = 5, 3, 1 for R, G, B (the branch-free form of HSV to RGB).
     */
    static void hue(float[] img, int off, int channels, int plane, float shift) {
        if (channels != 3) return;
        float shift6 = 6 * (shift - (float) Math.floor(shift));
        for (int p = off; p < off + plane; p++) {
            float r = img[p], g = img[p + plane], b = img[p + 2 * plane];
            float max = Math.max(r, Math.max(g, b)), min = Math.min(r, Math.min(g, b));
            float chroma = max - min;
            if (chroma == 0) continue; // grey pixel: no hue to rotate
            float inv = 1 / chroma;
            float h6; // hue in sixths of a turn, in [-1, 5)
            if (max == r) h6 = (g - b) * inv;
            else if (max == g) h6 = 2 + (b - r) * inv;
            else h6 = 4 + (r - g) * inv;
            h6 += shift6;
            if (h6 < 0) h6 += 6;
            if (h6 >= 6) h6 -= 6;
            img[p] = max - chroma * sector(5 + h6);
            img[p + plane] = max - chroma * sector(3 + h6);
            img[p + 2 * plane] = max - chroma * sector(1 + h6);
        }
    }

    /** clamp(min(k, 4 - k), 0, 1) for k taken modulo 6, k in [0, 12). */
    private static float sector(float k) {
        if (k >= 6) k -= 6;
        return Math.max(0, Math.min(1, Math.min(k, 4 - k)));
    }

    /** Replaces every channel by the luma 0.299 R + 0.587 G + 0.114 B; identity unless 3 channels. */
    static void grayscale(float[] img, int off, int channels, int plane) {
        if (channels != 3) return;
        for (int p = off; p < off + plane; p++) {
            float g = gray(img, p, plane);
            img[p] = g;
            img[p + plane] = g;
            img[p + 2 * plane] = g;
        }
    }

    private static float gray(float[] img, int p, int plane) {
        return RED * img[p] + GREEN * img[p + plane] + BLUE * img[p + 2 * plane];
    }

    private static float clamp(float x) {
        return x < 0 ? 0 : (x > 1 ? 1 : x);
    }
}
