package dev.jmoco.data;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * An immutable set of uint8 images with an int label each in [0, numClasses), a name, the normalisation its
 * augmentations end with, and the classes' names where the files name them (an image folder's class folders;
 * empty otherwise). The images live either in memory, in NCHW order ({@code size x channels x height x width}
 * bytes), or in files ({@link #ofFiles}), decoded each time a batch needs them, so that the memory a run holds
 * does not grow with the number of images. {@link #height()} and {@link #width()} are the shape the pipeline
 * works at: the stored images' for memory, and for files either the common size of the images or, when they
 * are resized ({@link #resizes()}), the side of the training views and of the evaluation centre crop.
 * {@link #subset} gives a view of the first n images without copying.
 */
public final class Dataset {
    /** Images sampled, evenly spread, for the statistics of a set whose images live in files. */
    static final int STATISTICS_SAMPLE = 1000;

    private final String name;
    private final byte[] pixels;
    private final List<Path> files;
    private final boolean resizes;
    /** The evaluation views {@link #image} makes of a resizing set, one augmenter (scratch space) per thread. */
    private final ThreadLocal<Augmenter> evalViews;
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
        this(name, pixels, null, false, labels, labels.length, channels, height, width, numClasses, normalization,
                classNames);
        if ((long) labels.length * channels * height * width != pixels.length)
            throw new IllegalArgumentException(name + ": " + pixels.length + " pixel bytes are not " + labels.length
                    + " images of " + channels + "x" + height + "x" + width);
        checkLabels();
    }

    /**
     * A set whose image i is the file {@code files.get(i)} (PNG or JPEG, see {@link ImageFiles}), decoded to
     * {@code channels} channels when it is read. With {@code size} &gt; 0 the images may have any size: training
     * views are cropped from the decoded image and resized to size x size, evaluation views are its centre
     * ({@link AugmentationRecipe#evaluation}). With size 0 every image must have the size of the first one,
     * which is decoded here (a file of another size fails when it is read, naming both sizes).
     *
     * @throws DatasetFormatException when the first file cannot be decoded (size 0)
     */
    public static Dataset ofFiles(String name, List<Path> files, int[] labels, int channels, int size,
                                  int numClasses, Normalization normalization, List<String> classNames)
            throws DatasetFormatException {
        if (channels != 1 && channels != 3) throw new IllegalArgumentException("channels must be 1 or 3: " + channels);
        if (size < 0) throw new IllegalArgumentException(name + ": image size must be >= 0 (0: the images' own), got "
                + size);
        if (files.size() != labels.length)
            throw new IllegalArgumentException(name + ": " + files.size() + " files for " + labels.length + " labels");
        if (files.isEmpty()) throw new IllegalArgumentException(name + ": no images");
        int h = size, w = size;
        if (size == 0) {
            DecodedImage first = ImageFiles.decode(files.getFirst());
            h = first.height();
            w = first.width();
        }
        Dataset d = new Dataset(name, null, List.copyOf(files), size > 0, labels, labels.length, channels, h, w,
                numClasses, normalization, classNames);
        d.checkLabels();
        return d;
    }

    private void checkLabels() {
        for (int i = 0; i < size; i++)
            if (labels[i] < 0 || labels[i] >= numClasses)
                throw new IllegalArgumentException(name + ": label " + labels[i] + " of image " + i
                        + " is outside [0, " + numClasses + ")");
    }

    private Dataset(String name, byte[] pixels, List<Path> files, boolean resizes, int[] labels, int size,
                    int channels, int height, int width, int numClasses, Normalization normalization,
                    List<String> classNames) {
        if (!classNames.isEmpty() && classNames.size() != numClasses)
            throw new IllegalArgumentException(name + ": " + classNames.size() + " class names for " + numClasses
                    + " classes");
        if (channels <= 0 || height <= 0 || width <= 0 || numClasses <= 0)
            throw new IllegalArgumentException(name + ": channels, height, width and classes must be > 0, got "
                    + channels + ", " + height + ", " + width + ", " + numClasses);
        if (normalization.channels() != channels)
            throw new IllegalArgumentException(name + ": a " + normalization.channels()
                    + "-channel normalisation for " + channels + "-channel images");
        this.name = name;
        this.pixels = pixels;
        this.files = files;
        this.resizes = resizes;
        this.evalViews = ThreadLocal.withInitial(() -> new Augmenter(evaluationRecipe(), channels, height, width,
                Normalization.IDENTITY.forChannels(channels)));
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

    /** Whether the images live in files, decoded when read ({@link #ofFiles}). */
    public boolean inFiles() { return files != null; }

    /**
     * Whether the images have sizes of their own, cropped or resized to {@link #height()} x {@link #width()}
     * when read (a set in files with a size); then evaluation views are centre crops
     * ({@link AugmentationRecipe#evaluation}).
     */
    public boolean resizes() { return resizes; }

    /** The file of image {@code index} (for messages and listings), or null when the images live in memory. */
    public Path file(int index) {
        Objects.checkIndex(index, size);
        return files == null ? null : files.get(index);
    }

    /** The recipe of evaluation views: the image as it is ({@link AugmentationRecipe#none}) or its centre crop. */
    public AugmentationRecipe evaluationRecipe() {
        return resizes ? AugmentationRecipe.evaluation(height) : AugmentationRecipe.none();
    }

    /** Pixel value (0..255) of image {@code index} at (channel, y, x) of {@link #image}. */
    public int pixel(int index, int channel, int y, int x) {
        Objects.checkIndex(index, size);
        Objects.checkIndex(channel, channels);
        Objects.checkIndex(y, height);
        Objects.checkIndex(x, width);
        if (files != null) return image(index)[(channel * height + y) * width + x] & 0xFF;
        return pixels[index * imageSize() + (channel * height + y) * width + x] & 0xFF;
    }

    /**
     * A copy of image {@code index}'s bytes, CHW at this set's shape: for a set that resizes, its evaluation
     * view (shorter side resized, centre crop) rounded to bytes.
     *
     * @throws UncheckedIOException around the {@link DatasetFormatException} naming a file that cannot be decoded
     */
    public byte[] image(int index) {
        if (files == null) {
            int off = Objects.checkIndex(index, size) * imageSize();
            return Arrays.copyOfRange(pixels, off, off + imageSize());
        }
        Source src;
        try {
            src = source(index);
        } catch (DatasetFormatException e) {
            throw new UncheckedIOException(e);
        }
        if (!resizes) return src.pixels();
        float[] view = new float[imageSize()];
        evalViews.get().augment(src.pixels(), 0, src.height(), src.width(), new SplittableRandom(0), view, 0);
        byte[] out = new byte[view.length];
        for (int i = 0; i < view.length; i++) out[i] = (byte) Math.max(0, Math.min(255, Math.round(view[i] * 255)));
        return out;
    }

    /** The first {@code n} images (all if n &gt;= size), sharing this set's storage. */
    public Dataset subset(int n) {
        if (n <= 0) throw new IllegalArgumentException(name + ": a subset needs at least 1 image, got " + n);
        if (n >= size) return this;
        return new Dataset(name, pixels, files == null ? null : files.subList(0, n), resizes, labels, n, channels,
                height, width, numClasses, normalization, classNames);
    }

    /**
     * The images at {@code indices}, in that order (a labelled fraction of the set): in memory, their bytes
     * copied into a set of their own; in files, the list of those files.
     */
    public Dataset select(int[] indices) {
        if (indices.length == 0) throw new IllegalArgumentException(name + ": a selection needs at least 1 image");
        int n = indices.length, length = imageSize();
        int[] l = new int[n];
        for (int i = 0; i < n; i++) l[i] = labels[Objects.checkIndex(indices[i], size)];
        if (files != null) {
            List<Path> f = new java.util.ArrayList<>(n);
            for (int index : indices) f.add(files.get(index));
            return new Dataset(name, pixels, List.copyOf(f), resizes, l, n, channels, height, width, numClasses,
                    normalization, classNames);
        }
        byte[] p = new byte[Math.multiplyExact(n, length)];
        for (int i = 0; i < n; i++) System.arraycopy(pixels, indices[i] * length, p, i * length, length);
        return new Dataset(name, p, null, false, l, n, channels, height, width, numClasses, normalization, classNames);
    }

    /** The same images with another normalisation. */
    public Dataset withNormalization(Normalization normalization) {
        return new Dataset(name, pixels, files, resizes, labels, size, channels, height, width, numClasses,
                normalization, classNames);
    }

    /**
     * Where image {@code index}'s bytes are: uint8 CHW of {@code height x width} at {@code pixels[offset ..]}.
     * In memory, a window on the shared storage (callers never write to it); in files, the image decoded now,
     * at its own size when the set resizes.
     */
    record Source(byte[] pixels, int offset, int height, int width) {}

    /** Image {@code index} of a set in memory: a window on the shared storage, never a failure. */
    Source memorySource(int index) {
        if (files != null) throw new IllegalStateException(name + ": the images live in files");
        return new Source(pixels, Objects.checkIndex(index, size) * imageSize(), height, width);
    }

    /**
     * Image {@code index}'s bytes (see {@link Source}).
     *
     * @throws DatasetFormatException naming the file when it cannot be decoded, or, for a set that does not
     *                                resize, when its size differs from the set's
     */
    Source source(int index) throws DatasetFormatException {
        if (files == null) return memorySource(index);
        Path file = files.get(Objects.checkIndex(index, size));
        DecodedImage img = ImageFiles.decode(file);
        if (!resizes && (img.height() != height || img.width() != width))
            throw new DatasetFormatException(file, "size " + img.width() + "x" + img.height() + " differs from "
                    + width + "x" + height + " of " + files.getFirst().getFileName()
                    + " (give an image size, --image-size, to crop and resize)");
        return new Source(img.planes(channels), 0, img.height(), img.width());
    }

    @Override public String toString() {
        return name + " [" + size + " x " + channels + "x" + height + "x" + width + ", " + numClasses + " classes]";
    }
}
