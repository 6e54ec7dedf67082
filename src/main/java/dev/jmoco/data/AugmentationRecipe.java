package dev.jmoco.data;

/**
 * The parameters of an augmentation pipeline, applied by {@link Augmenter} in MoCo's order:
 * <ol>
 *   <li>RandomResizedCrop to {@code cropSize} (0: the image's own size), area fraction in
 *       [cropScaleMin, cropScaleMax], aspect ratio in [ratioMin, ratioMax] (torchvision's 10-try algorithm
 *       with the central-crop fallback, antialiased bilinear resize); skipped when {@code randomCrop} is
 *       false (the image is only resized to cropSize, or, with {@code centerCrop}, its shorter side resized
 *       to {@link #resizeBeforeCrop}(cropSize) and the centre cropSize x cropSize kept: {@link #evaluation});</li>
 *   <li>horizontal flip with probability {@code flipP} (MoCo flips last; flipping commutes with every
 *       other step here, so it is fused into the resize);</li>
 *   <li>RandomGrayscale({@code grayscaleP}) here when {@code grayscaleFirst} (v1's order), then
 *       ColorJitter(brightness, contrast, saturation, hue) with probability {@code jitterP}, its four parts
 *       in a random order as torchvision's; a zero part is skipped. Then RandomGrayscale when not
 *       grayscaleFirst (v2's order);</li>
 *   <li>GaussianBlur with probability {@code blurP}, sigma uniform in [blurSigmaMin, blurSigmaMax], kernel
 *       about 10% of the crop size (odd, at least 3);</li>
 *   <li>Normalize with the data set's mean and std.</li>
 * </ol>
 * For 1-channel images saturation, hue and grayscale are identities. {@link #none()} only normalizes (for
 * evaluation of images of one size). Recipes are immutable; the {@code with...} methods return modified copies, so a better recipe
 * for 28x28 grayscale images is one expression, e.g. {@code v2(28).withCropScaleMin(0.4).withBlurP(0)}.
 */
public record AugmentationRecipe(String name, int cropSize, boolean randomCrop, double cropScaleMin,
                                 double cropScaleMax, double ratioMin, double ratioMax, double flipP,
                                 double brightness, double contrast, double saturation, double hue,
                                 double jitterP, double grayscaleP, boolean grayscaleFirst, double blurP,
                                 double blurSigmaMin, double blurSigmaMax, boolean centerCrop) {

    public AugmentationRecipe {
        if (cropSize < 0) throw new IllegalArgumentException("crop size must be >= 0 (0: the image's size): " + cropSize);
        if (centerCrop && (randomCrop || cropSize == 0))
            throw new IllegalArgumentException("a centre crop needs a crop size and no random crop");
        if (!(cropScaleMin > 0 && cropScaleMin <= cropScaleMax && cropScaleMax <= 1))
            throw new IllegalArgumentException("crop scale needs 0 < min <= max <= 1, got [" + cropScaleMin + ", "
                    + cropScaleMax + "]");
        if (!(ratioMin > 0 && ratioMin <= ratioMax))
            throw new IllegalArgumentException("aspect ratio needs 0 < min <= max, got [" + ratioMin + ", " + ratioMax + "]");
        probability("flip", flipP);
        probability("jitter", jitterP);
        probability("grayscale", grayscaleP);
        probability("blur", blurP);
        if (!(brightness >= 0 && contrast >= 0 && saturation >= 0))
            throw new IllegalArgumentException("brightness, contrast and saturation must be >= 0");
        if (!(hue >= 0 && hue <= 0.5)) throw new IllegalArgumentException("hue must be in [0, 0.5]: " + hue);
        if (!(blurSigmaMin > 0 && blurSigmaMin <= blurSigmaMax))
            throw new IllegalArgumentException("blur sigma needs 0 < min <= max, got [" + blurSigmaMin + ", "
                    + blurSigmaMax + "]");
    }

    /** MoCo v1: crop (0.2, 1), grayscale 0.2, jitter (0.4, 0.4, 0.4, 0.4) always, flip. */
    public static AugmentationRecipe v1(int cropSize) {
        return new AugmentationRecipe("v1", cropSize, true, 0.2, 1, 3.0 / 4, 4.0 / 3, 0.5,
                0.4, 0.4, 0.4, 0.4, 1, 0.2, true, 0, 0.1, 2, false);
    }

    /** MoCo v2: crop (0.2, 1), jitter (0.4, 0.4, 0.4, 0.1) with p 0.8, grayscale 0.2, blur (0.1, 2) p 0.5, flip. */
    public static AugmentationRecipe v2(int cropSize) {
        return new AugmentationRecipe("v2", cropSize, true, 0.2, 1, 3.0 / 4, 4.0 / 3, 0.5,
                0.4, 0.4, 0.4, 0.1, 0.8, 0.2, false, 0.5, 0.1, 2, false);
    }

    /**
     * Contrastive Multiview Coding's (HobbitLong/CMC): crop (0.2, 1) and flip, nothing that changes colour, so
     * that the L and ab views split from it keep what relates them.
     */
    public static AugmentationRecipe cmc(int cropSize) {
        return v2(cropSize).withJitterP(0).withGrayscaleP(0).withBlurP(0).withName("cmc");
    }

    /** Evaluation: the image as it is, normalized. */
    public static AugmentationRecipe none() {
        return new AugmentationRecipe("none", 0, false, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, false, 0, 0.1, 2, false);
    }

    /**
     * Evaluation of images of any size at {@code size} x {@code size}, as the linear protocol does: the shorter
     * side resized to {@link #resizeBeforeCrop}(size) (256 for 224), then the centre size x size, normalized.
     */
    public static AugmentationRecipe evaluation(int size) {
        if (size <= 0) throw new IllegalArgumentException("evaluation size must be > 0: " + size);
        return new AugmentationRecipe("eval", size, false, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, false, 0, 0.1, 2, true);
    }

    /** The shorter side before the centre crop of {@link #evaluation}: round(size x 256 / 224). */
    public static int resizeBeforeCrop(int size) { return (int) Math.round(size * 256.0 / 224); }

    /** "v1", "v2", "cmc" or "none" (case-insensitive). */
    public static AugmentationRecipe named(String name, int cropSize) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "v1" -> v1(cropSize);
            case "v2" -> v2(cropSize);
            case "cmc" -> cmc(cropSize);
            case "none" -> none();
            default -> throw new IllegalArgumentException("unknown augmentation recipe '" + name
                    + "' (expected v1, v2, cmc or none)");
        };
    }

    /** Output height for an input image of this height. */
    public int outputHeight(int imageHeight) { return cropSize == 0 ? imageHeight : cropSize; }

    /** Output width for an input image of this width. */
    public int outputWidth(int imageWidth) { return cropSize == 0 ? imageWidth : cropSize; }

    public AugmentationRecipe withName(String name) {
        return new AugmentationRecipe(name, cropSize, randomCrop, cropScaleMin, cropScaleMax, ratioMin, ratioMax,
                flipP, brightness, contrast, saturation, hue, jitterP, grayscaleP, grayscaleFirst, blurP,
                blurSigmaMin, blurSigmaMax, centerCrop);
    }

    public AugmentationRecipe withCropSize(int size) {
        return new AugmentationRecipe(name, size, randomCrop, cropScaleMin, cropScaleMax, ratioMin, ratioMax,
                flipP, brightness, contrast, saturation, hue, jitterP, grayscaleP, grayscaleFirst, blurP,
                blurSigmaMin, blurSigmaMax, centerCrop);
    }

    /** The lower bound of the crop's area fraction (MoCo: 0.2). */
    public AugmentationRecipe withCropScaleMin(double min) {
        return new AugmentationRecipe(name, cropSize, randomCrop, min, cropScaleMax, ratioMin, ratioMax,
                flipP, brightness, contrast, saturation, hue, jitterP, grayscaleP, grayscaleFirst, blurP,
                blurSigmaMin, blurSigmaMax, centerCrop);
    }

    public AugmentationRecipe withFlipP(double p) {
        return new AugmentationRecipe(name, cropSize, randomCrop, cropScaleMin, cropScaleMax, ratioMin, ratioMax,
                p, brightness, contrast, saturation, hue, jitterP, grayscaleP, grayscaleFirst, blurP,
                blurSigmaMin, blurSigmaMax, centerCrop);
    }

    /** The jitter strengths; 0 turns a part off. */
    public AugmentationRecipe withJitter(double brightness, double contrast, double saturation, double hue) {
        return new AugmentationRecipe(name, cropSize, randomCrop, cropScaleMin, cropScaleMax, ratioMin, ratioMax,
                flipP, brightness, contrast, saturation, hue, jitterP, grayscaleP, grayscaleFirst, blurP,
                blurSigmaMin, blurSigmaMax, centerCrop);
    }

    public AugmentationRecipe withJitterP(double p) {
        return new AugmentationRecipe(name, cropSize, randomCrop, cropScaleMin, cropScaleMax, ratioMin, ratioMax,
                flipP, brightness, contrast, saturation, hue, p, grayscaleP, grayscaleFirst, blurP,
                blurSigmaMin, blurSigmaMax, centerCrop);
    }

    public AugmentationRecipe withGrayscaleP(double p) {
        return new AugmentationRecipe(name, cropSize, randomCrop, cropScaleMin, cropScaleMax, ratioMin, ratioMax,
                flipP, brightness, contrast, saturation, hue, jitterP, p, grayscaleFirst, blurP,
                blurSigmaMin, blurSigmaMax, centerCrop);
    }

    /** Blur probability; 0 turns blur off. */
    public AugmentationRecipe withBlurP(double p) {
        return new AugmentationRecipe(name, cropSize, randomCrop, cropScaleMin, cropScaleMax, ratioMin, ratioMax,
                flipP, brightness, contrast, saturation, hue, jitterP, grayscaleP, grayscaleFirst, p,
                blurSigmaMin, blurSigmaMax, centerCrop);
    }

    private static void probability(String what, double p) {
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException(what + " probability must be in [0, 1]: " + p);
    }
}
