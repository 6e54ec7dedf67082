package dev.jmoco.data;

import dev.jmoco.io.Json;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/** Opens a data set by kind, folder and split, with the kind's normalisation. */
public final class Datasets {
    /** The kinds {@link #open} accepts. */
    public static final String KINDS = "fashion-mnist, mnist, cifar10, cifar100, folder";

    private Datasets() {}

    /** {@link #open(String, Path, String, int)} at the images' own size. */
    public static Dataset open(String kind, Path dir, String split) throws IOException {
        return open(kind, dir, split, 0);
    }

    /**
     * Opens split "train" or "test" of a data set: "fashion-mnist" and "mnist" (IDX files), "cifar10" and
     * "cifar100" (binary files), "folder" (3-channel images decoded from their files when a batch needs them,
     * normalised with statistics computed from a sample of them; see {@link #openFolder} for other channel
     * counts). {@code imageSize} is the side of a folder's views (0: the images' common size); the other kinds
     * have one size and refuse another.
     */
    public static Dataset open(String kind, Path dir, String split, int imageSize) throws IOException {
        boolean folder = kind.toLowerCase(Locale.ROOT).equals("folder");
        if (imageSize != 0 && !folder)
            throw new IllegalArgumentException("an image size (" + imageSize + ") is for image folders; dataset "
                    + Json.visible(kind) + " has one size");
        return switch (kind.toLowerCase(Locale.ROOT)) {
            case "fashion-mnist" -> IdxReader.read(dir, split, "fashion-mnist", 10, Normalization.FASHION_MNIST);
            case "mnist" -> IdxReader.read(dir, split, "mnist", 10, Normalization.MNIST);
            case "cifar10" -> CifarReader.cifar10(dir, split);
            case "cifar100" -> CifarReader.cifar100(dir, split);
            case "folder" -> openFolder(dir, split, 3, imageSize, null);
            default -> throw new IllegalArgumentException("unknown dataset '" + Json.visible(kind) + "' (expected " + KINDS + ")");
        };
    }

    /**
     * Opens split "test" to be compared with {@code train} (its training split, as opened): an image folder's
     * test classes take the training split's indices by name (a class the training split lacks is an error
     * naming it) and its normalisation; the images must have the training images' shape.
     *
     * @throws DatasetFormatException naming the folder, the class or both shapes
     */
    public static Dataset openTest(String kind, Path dir, Dataset train) throws IOException {
        Dataset test = kind.toLowerCase(Locale.ROOT).equals("folder")
                ? ImageFolderReader.read(dir, "test", train.channels(), train.resizes() ? train.height() : 0,
                        train.normalization(), train.classNames())
                : open(kind, dir, "test");
        if (test.channels() != train.channels() || test.height() != train.height() || test.width() != train.width())
            throw new DatasetFormatException(dir, "test images are " + test.channels() + "x" + test.height() + "x"
                    + test.width() + ", the training images " + train.channels() + "x" + train.height() + "x"
                    + train.width() + ": both splits must have one shape to be compared");
        return test;
    }

    /**
     * Opens an image folder (see {@link ImageFolderReader}) as {@code channels} channels, cropped and resized
     * to size x size (0: keep the common size), normalised with {@code normalization} or, when null, with the
     * statistics of the images themselves (use {@link Normalization#IMAGENET} for photographs and the
     * training split's statistics for the test split).
     */
    public static Dataset openFolder(Path dir, String split, int channels, int size, Normalization normalization)
            throws IOException {
        return ImageFolderReader.read(dir, split, channels, size, normalization);
    }
}
