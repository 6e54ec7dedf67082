package dev.jmoco.data;

import dev.jmoco.io.Json;

import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * Per-channel normalisation applied last by every augmentation recipe: x' = (x - mean[c]) / std[c] on pixel
 * values in [0, 1] (torchvision's Normalize). Arrays are copied in and out.
 */
public record Normalization(float[] mean, float[] std) {
    /** Fashion-MNIST's training-set statistics. */
    public static final Normalization FASHION_MNIST = of(new double[] {0.2860}, new double[] {0.3530});
    /** MNIST's training-set statistics. */
    public static final Normalization MNIST = of(new double[] {0.1307}, new double[] {0.3081});
    public static final Normalization CIFAR10 =
            of(new double[] {0.4914, 0.4822, 0.4465}, new double[] {0.2470, 0.2435, 0.2616});
    public static final Normalization CIFAR100 =
            of(new double[] {0.5071, 0.4865, 0.4409}, new double[] {0.2673, 0.2564, 0.2762});
    /** ImageNet's statistics, the usual choice for photographs. */
    public static final Normalization IMAGENET =
            of(new double[] {0.485, 0.456, 0.406}, new double[] {0.229, 0.224, 0.225});
    /** No change: mean 0, std 1 for one channel (see {@link #forChannels}). */
    public static final Normalization IDENTITY = of(new double[] {0}, new double[] {1});

    public Normalization {
        if (mean.length == 0 || mean.length != std.length)
            throw new IllegalArgumentException("mean and std need the same non-zero length, got "
                    + mean.length + " and " + std.length);
        for (float s : std)
            if (!(s > 0) || !Float.isFinite(s)) throw new IllegalArgumentException("std must be > 0: " + Arrays.toString(std));
        for (float m : mean)
            if (!Float.isFinite(m)) throw new IllegalArgumentException("mean must be finite: " + Arrays.toString(mean));
        mean = mean.clone();
        std = std.clone();
    }

    /** The statistics of a data set by name: imagenet, cifar10, cifar100, fashion-mnist, mnist. */
    public static Normalization named(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "imagenet" -> IMAGENET;
            case "cifar10" -> CIFAR10;
            case "cifar100" -> CIFAR100;
            case "fashion-mnist" -> FASHION_MNIST;
            case "mnist" -> MNIST;
            default -> throw new IllegalArgumentException("unknown normalisation '" + Json.visible(name)
                    + "' (imagenet, cifar10, cifar100, fashion-mnist, mnist)");
        };
    }

    public static Normalization of(double[] mean, double[] std) {
        float[] m = new float[mean.length], s = new float[std.length];
        for (int i = 0; i < m.length; i++) m[i] = (float) mean[i];
        for (int i = 0; i < s.length; i++) s[i] = (float) std[i];
        return new Normalization(m, s);
    }

    @Override public float[] mean() { return mean.clone(); }

    @Override public float[] std() { return std.clone(); }

    public float mean(int channel) { return mean[channel]; }

    public float std(int channel) { return std[channel]; }

    public int channels() { return mean.length; }

    /** "mean 0.4914,0.4822,0.4465 std 0.2470,0.2435,0.2616" (4 decimals, for help texts). */
    public String describe() { return "mean " + joined(mean) + " std " + joined(std); }

    private static String joined(float[] v) {
        StringBuilder b = new StringBuilder();
        for (float f : v) b.append(b.isEmpty() ? "" : ",").append(String.format(Locale.ROOT, "%.4f", f));
        return b.toString();
    }

    /**
     * This normalisation for images of {@code channels} channels: itself when the counts agree; a 1-channel
     * one is repeated for 3 channels; a 3-channel one becomes its average for 1 channel (a grey image made
     * from the same photographs).
     */
    public Normalization forChannels(int channels) {
        if (channels == mean.length) return this;
        if (mean.length == 1) {
            float[] m = new float[channels], s = new float[channels];
            Arrays.fill(m, mean[0]);
            Arrays.fill(s, std[0]);
            return new Normalization(m, s);
        }
        if (channels == 1) {
            double m = 0, s = 0;
            for (int c = 0; c < mean.length; c++) { m += mean[c]; s += std[c]; }
            return new Normalization(new float[] {(float) (m / mean.length)}, new float[] {(float) (s / mean.length)});
        }
        throw new IllegalArgumentException("cannot adapt a " + mean.length + "-channel normalisation to " + channels);
    }

    /**
     * Per-channel mean and standard deviation of the pixels (in [0, 1]) of a data set, in double: of every
     * image in memory, or, for a set in files, of {@link Dataset#STATISTICS_SAMPLE} images spread evenly over
     * it (decoded in parallel; the views evaluation sees: {@link Dataset#image}).
     *
     * @throws DatasetFormatException naming a sampled file that cannot be decoded
     */
    public static Normalization compute(Dataset data) throws DatasetFormatException {
        int c = data.channels(), plane = data.height() * data.width();
        int n = data.inFiles() ? Math.min(data.size(), Dataset.STATISTICS_SAMPLE) : data.size();
        long[][] perImage = new long[n][];
        try {
            IntStream range = IntStream.range(0, n);
            (data.inFiles() ? range.parallel() : range).forEach(i -> {
                int index = (int) ((long) i * data.size() / n);
                if (data.inFiles()) {
                    perImage[i] = sums(data.image(index), 0, c, plane); // decoding fails unchecked, see below
                } else {
                    Dataset.Source s = data.memorySource(index);
                    perImage[i] = sums(s.pixels(), s.offset(), c, plane);
                }
            });
        } catch (UncheckedIOException e) {
            throw (DatasetFormatException) e.getCause();
        }
        long[] sum = new long[c], sumSq = new long[c];
        for (long[] s : perImage)
            for (int ch = 0; ch < c; ch++) { sum[ch] += s[ch]; sumSq[ch] += s[c + ch]; }
        double count = (double) n * plane;
        double[] mean = new double[c], std = new double[c];
        for (int ch = 0; ch < c; ch++) {
            double m = sum[ch] / count;
            double var = Math.max(0, sumSq[ch] / count - m * m);
            mean[ch] = m / 255;
            // a constant data set would give std 0; 1 keeps the normalisation defined
            std[ch] = var > 0 ? Math.sqrt(var) / 255 : 1;
        }
        return of(mean, std);
    }

    /** Per channel of one CHW image at img[base ..]: the sums of its values, then of their squares. */
    private static long[] sums(byte[] img, int base, int channels, int plane) {
        long[] out = new long[2 * channels];
        for (int ch = 0; ch < channels; ch++) {
            long s = 0, q = 0;
            for (int p = base + ch * plane, end = p + plane; p < end; p++) {
                int v = img[p] & 0xFF;
                s += v;
                q += v * v;
            }
            out[ch] = s;
            out[channels + ch] = q;
        }
        return out;
    }

    @Override public boolean equals(Object o) {
        return o instanceof Normalization n && Arrays.equals(mean, n.mean) && Arrays.equals(std, n.std);
    }

    @Override public int hashCode() { return 31 * Arrays.hashCode(mean) + Arrays.hashCode(std); }

    @Override public String toString() {
        return "Normalization[mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std) + "]";
    }
}
