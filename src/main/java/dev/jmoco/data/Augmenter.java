package dev.jmoco.data;

import java.util.SplittableRandom;

/**
 * Applies an {@link AugmentationRecipe} to uint8 CHW images, writing normalized float CHW views. Holds scratch
 * space (resize weights, a work image, blur buffers), so it is not thread-safe: use one per thread. Once its
 * buffers have grown to the image size it allocates nothing per image.
 *
 * <p>The random draws, in this order, all from the caller's generator: crop (torchvision's get_params), flip,
 * then grayscale / jitter (jitter: apply?, the order of its four parts, then the factors brightness,
 * contrast, saturation, hue as torchvision draws them) in the recipe's order, then blur (apply?, sigma). Lab
 * views ({@link ColorSpace#LAB}) draw nothing more: the conversion comes last, before the normalisation.
 */
public final class Augmenter {
    private static final float BYTE_TO_UNIT = 1f / 255;

    private final AugmentationRecipe recipe;
    private final int channels, height, width, outH, outW;
    private final float[] offset, invStd;
    private final ResizeAxis rows = new ResizeAxis(), cols = new ResizeAxis();
    private final GaussianBlur blur = new GaussianBlur();
    private final int blurSize;
    private final float[] work;
    private final int[] jitterOrder = new int[4];
    private final boolean lab;
    private float[] resizeTmp = new float[0];

    /** An augmenter for images of channels x height x width ending with {@code normalization}. */
    public Augmenter(AugmentationRecipe recipe, int channels, int height, int width, Normalization normalization) {
        this(recipe, channels, height, width, normalization, false);
    }

    private Augmenter(AugmentationRecipe recipe, int channels, int height, int width, Normalization normalization,
                      boolean lab) {
        if (normalization.channels() != channels)
            throw new IllegalArgumentException("a " + normalization.channels() + "-channel normalisation for "
                    + channels + "-channel images");
        this.recipe = recipe;
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.outH = recipe.outputHeight(height);
        this.outW = recipe.outputWidth(width);
        this.offset = new float[channels];
        this.invStd = new float[channels];
        for (int c = 0; c < channels; c++) {
            invStd[c] = 1 / normalization.std(c);
            offset[c] = -normalization.mean(c) * invStd[c];
        }
        this.blurSize = GaussianBlur.kernelSize(Math.min(outH, outW));
        this.work = new float[channels * outH * outW];
        this.lab = lab;
    }

    /** An augmenter for the images of {@code data}, with its normalisation. */
    public Augmenter(AugmentationRecipe recipe, Dataset data) {
        this(recipe, data, ColorSpace.RGB);
    }

    /**
     * An augmenter for the images of {@code data} whose views are in {@code space}: RGB with the data set's
     * normalisation, or Lab, converted after every other step (so the augmentation comes before CMC's split)
     * and normalised with {@link LabColor#NORMALIZATION}.
     */
    public Augmenter(AugmentationRecipe recipe, Dataset data, ColorSpace space) {
        this(recipe, data.channels(), data.height(), data.width(), space == ColorSpace.LAB ? LabColor.NORMALIZATION
                : data.normalization(), fits(space, data) == ColorSpace.LAB);
    }

    private static ColorSpace fits(ColorSpace space, Dataset data) {
        space.requireFits(data);
        return space;
    }

    /** Floats per output view: channels x outputHeight x outputWidth. */
    public int outputSize() { return work.length; }

    public int outputHeight() { return outH; }

    public int outputWidth() { return outW; }

    /** Augments image {@code index} of {@code data} into dst[dstOff ..] (decoding it first if it lives in a file). */
    public void augment(Dataset data, int index, SplittableRandom rng, float[] dst, int dstOff)
            throws DatasetFormatException {
        Dataset.Source src = data.source(index);
        augment(src.pixels(), src.offset(), src.height(), src.width(), rng, dst, dstOff);
    }

    /** Augments the image at src[srcOff ..] (uint8 CHW of this augmenter's shape) into dst[dstOff ..]. */
    public void augment(byte[] src, int srcOff, SplittableRandom rng, float[] dst, int dstOff) {
        augment(src, srcOff, height, width, rng, dst, dstOff);
    }

    /**
     * Augments the uint8 CHW image of srcH x srcW at src[srcOff ..] (any size: the crop is drawn on it, and the
     * view has this augmenter's output size) into dst[dstOff ..].
     */
    public void augment(byte[] src, int srcOff, int srcH, int srcW, SplittableRandom rng, float[] dst, int dstOff) {
        boolean flip;
        if (recipe.randomCrop()) {
            var crop = RandomResizedCrop.sample(srcH, srcW, recipe.cropScaleMin(), recipe.cropScaleMax(),
                    recipe.ratioMin(), recipe.ratioMax(), rng);
            flip = flip(rng);
            rows.configure(crop.top(), crop.height(), outH, false, 1);
            cols.configure(crop.left(), crop.width(), outW, flip, BYTE_TO_UNIT);
        } else if (recipe.centerCrop()) {
            flip = flip(rng);
            centerCrop(srcH, srcW, flip);
        } else {
            flip = flip(rng);
            rows.configure(0, srcH, outH, false, 1);
            cols.configure(0, srcW, outW, flip, BYTE_TO_UNIT);
        }
        int tmpSize = channels * (rows.maxInput() - rows.minInput()) * outW;
        if (resizeTmp.length < tmpSize) resizeTmp = new float[tmpSize];
        ResizeAxis.resize(src, srcOff, channels, srcH, srcW, rows, cols, resizeTmp, work, 0);

        int plane = outH * outW;
        if (recipe.grayscaleFirst()) grayscale(rng, plane);
        if (recipe.jitterP() > 0 && rng.nextDouble() < recipe.jitterP()) jitter(rng, plane);
        if (!recipe.grayscaleFirst()) grayscale(rng, plane);
        if (recipe.blurP() > 0 && rng.nextDouble() < recipe.blurP()) {
            blur.setKernel(blurSize, RandomResizedCrop.uniform(rng, recipe.blurSigmaMin(), recipe.blurSigmaMax()));
            blur.apply(work, 0, channels, outH, outW);
        }
        if (lab) LabColor.fromRgb(work, 0, plane, work, 0);
        for (int c = 0; c < channels; c++) {
            float a = invStd[c], b = offset[c];
            for (int p = c * plane, d = dstOff + p, end = p + plane; p < end; p++, d++) dst[d] = work[p] * a + b;
        }
    }

    private boolean flip(SplittableRandom rng) {
        return recipe.flipP() > 0 && rng.nextDouble() < recipe.flipP();
    }

    /**
     * torchvision's Resize(s) then CenterCrop(out): the shorter side to s, the longer to floor(s x long / short)
     * (Resize's int()), then the crop at round((size - out) / 2), halves to even (CenterCrop's Python round).
     */
    private void centerCrop(int srcH, int srcW, boolean flip) {
        int side = AugmentationRecipe.resizeBeforeCrop(Math.min(outH, outW));
        int fullH, fullW;
        if (srcH <= srcW) { fullH = side; fullW = (int) ((long) side * srcW / srcH); }
        else { fullW = side; fullH = (int) ((long) side * srcH / srcW); }
        fullH = Math.max(fullH, outH);
        fullW = Math.max(fullW, outW);
        rows.configure(0, srcH, fullH, (int) Math.rint((fullH - outH) / 2.0), outH, false, 1);
        cols.configure(0, srcW, fullW, (int) Math.rint((fullW - outW) / 2.0), outW, flip, BYTE_TO_UNIT);
    }

    private void grayscale(SplittableRandom rng, int plane) {
        if (recipe.grayscaleP() > 0 && rng.nextDouble() < recipe.grayscaleP())
            ColorOps.grayscale(work, 0, channels, plane);
    }

    /** torchvision's ColorJitter: a random order of the four parts, each factor drawn once. */
    private void jitter(SplittableRandom rng, int plane) {
        for (int i = 0; i < 4; i++) jitterOrder[i] = i;
        for (int i = 3; i > 0; i--) {
            int j = rng.nextInt(i + 1), t = jitterOrder[i];
            jitterOrder[i] = jitterOrder[j];
            jitterOrder[j] = t;
        }
        float b = factor(rng, recipe.brightness()), c = factor(rng, recipe.contrast());
        float s = factor(rng, recipe.saturation());
        float h = recipe.hue() > 0 ? (float) RandomResizedCrop.uniform(rng, -recipe.hue(), recipe.hue()) : 0;
        for (int part : jitterOrder) {
            switch (part) {
                case 0 -> { if (recipe.brightness() > 0) ColorOps.brightness(work, 0, channels, plane, b); }
                case 1 -> { if (recipe.contrast() > 0) ColorOps.contrast(work, 0, channels, plane, c); }
                case 2 -> { if (recipe.saturation() > 0) ColorOps.saturation(work, 0, channels, plane, s); }
                default -> { if (recipe.hue() > 0) ColorOps.hue(work, 0, channels, plane, h); }
            }
        }
    }

    /** A jitter factor uniform in [max(0, 1 - strength), 1 + strength]; 1 (unused) when the part is off. */
    private static float factor(SplittableRandom rng, double strength) {
        return strength > 0 ? (float) RandomResizedCrop.uniform(rng, Math.max(0, 1 - strength), 1 + strength) : 1;
    }
}
