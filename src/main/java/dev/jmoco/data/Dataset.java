package dev.jmoco.data;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * An immutable in-memory set of uint8 images in NCHW order ({@code size x channels x height x width} bytes)
 * with an int label each in [0, numClasses), a name, the normalisation its augmentations end with, and the
 * classes' names where the files name them (an image folder's class folders; empty otherwise).
 * {@link #subset} gives a view of the first n images without copying.
 */
public final class Dataset {
    private final String name;
    private final byte[] pixels;
    private final int[] labels;
    private final int size;
    private final int channels;
    private final int height;
    private final int width;
    private final int numClasses;
    private final Normalization normalization;
    private final List<String> classNames;

    /**
     * Takes ownership of {@code pixels} and {@code labels} (readers build them and hand them over); checks
     * shapes and label ranges. The classes have no names.
     */
    public Dataset(String name, byte[] pixels, int[] labels, int channels, int height, int width, int numClasses,
                   Normalization normalization) {
        this(name, pixels, labels, channels, height, width, numClasses, normalization, List.of());
    }

    /** As the constructor above, with the classes' names: empty, or one per class (label i is the i-th). */
    public Dataset(String name, byte[] pixels, int[] labels, int channels, int height, int width, int numClasses,
                   Normalization normalization, List<String> classNames) {
        this(name, pixels, labels, labels.length, channels, height, width, numClasses, normalization, classNames);
        if (!classNames.isEmpty() && classNames.size() != numClasses)
            throw new IllegalArgumentException(name + ": " + classNames.size() + " class names for " + numClasses
                    + " classes");
        if ((long) labels.length * channels * height * width != pixels.length)
            throw new IllegalArgumentException(name + ": " + pixels.length + " pixel bytes are not " + labels.length
                    + " images of " + channels + "x" + height + "x" + width);
        for (int i = 0; i < labels.length; i++)
            if (labels[i] < 0 || labels[i] >= numClasses)
                throw new IllegalArgumentException(name + ": label " + labels[i] + " of image " + i
                        + " is outside [0, " + numClasses + ")");
    }

    private Dataset(String name, byte[] pixels, int[] labels, int size, int channels, int height, int width,
                    int numClasses, Normalization normalization, List<String> classNames) {
        if (channels <= 0 || height <= 0 || width <= 0 || numClasses <= 0)
            throw new IllegalArgumentException(name + ": channels, height, width and classes must be > 0, got "
                    + channels + ", " + height + ", " + width + ", " + numClasses);
        if (normalization.channels() != channels)
            throw new IllegalArgumentException(name + ": a " + normalization.channels()
                    + "-channel normalisation for " + channels + "-channel images");
        this.name = name;
        this.pixels = pixels;
        this.labels = labels;
        this.size = size;
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.numClasses = numClasses;
        this.normalization = normalization;
        this.classNames = List.copyOf(classNames);
    }

    public String name() { return name; }

    /** Number of images. */
    public int size() { return size; }

    public int channels() { return channels; }

    public int height() { return height; }

    public int width() { return width; }

    /** Bytes per image: channels x height x width. */
    public int imageSize() { return channels * height * width; }

    public int numClasses() { return numClasses; }

    public Normalization normalization() { return normalization; }

    /** The classes' names, label order (empty when the files do not name them). */
    public List<String> classNames() { return classNames; }

    public int label(int index) {
        return labels[Objects.checkIndex(index, size)];
    }

    /** A copy of all labels. */
    public int[] labels() { return Arrays.copyOf(labels, size); }

    /** Pixel value (0..255) of image {@code index} at (channel, y, x). */
    public int pixel(int index, int channel, int y, int x) {
        Objects.checkIndex(index, size);
        Objects.checkIndex(channel, channels);
        Objects.checkIndex(y, height);
        Objects.checkIndex(x, width);
        return pixels[index * imageSize() + (channel * height + y) * width + x] & 0xFF;
    }

    /** A copy of image {@code index}'s bytes, CHW. */
    public byte[] image(int index) {
        int off = Objects.checkIndex(index, size) * imageSize();
        return Arrays.copyOfRange(pixels, off, off + imageSize());
    }

    /** The first {@code n} images (all if n &gt;= size), sharing this set's storage. */
    public Dataset subset(int n) {
        if (n <= 0) throw new IllegalArgumentException(name + ": a subset needs at least 1 image, got " + n);
        if (n >= size) return this;
        return new Dataset(name, pixels, labels, n, channels, height, width, numClasses, normalization, classNames);
    }

    /** The same images with another normalisation. */
    public Dataset withNormalization(Normalization normalization) {
        return new Dataset(name, pixels, labels, size, channels, height, width, numClasses, normalization,
                classNames);
    }

    /** The shared storage, for the augmenter and statistics; callers never write to it. */
    byte[] pixels() { return pixels; }

    @Override public String toString() {
        return name + " [" + size + " x " + channels + "x" + height + "x" + width + ", " + numClasses + " classes]";
    }
}
