package dev.jmoco.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;

/**
 * Reads the IDX format of MNIST and Fashion-MNIST, plain or gzipped: images are magic 0x00000803, count,
 * rows, columns (big-endian int32) then count x rows x columns bytes; labels are magic 0x00000801, count, then
 * one byte each. Split "train" is train-images-idx3-ubyte + train-labels-idx1-ubyte, "test" is the t10k-
 * pair, each with or without ".gz".
 *
 * <p>The header is not trusted: rows and columns may be at most {@value #MAX_SIDE} each, all images must fit
 * in one array, a plain file's length must match what its header declares before anything is allocated, and
 * a gzipped file's content is read into a buffer that grows only as data arrives.
 */
public final class IdxReader {
    static final int IMAGES_MAGIC = 0x00000803, LABELS_MAGIC = 0x00000801;
    /** The largest number of rows or columns accepted (MNIST has 28; a larger value is a corrupt header). */
    static final int MAX_SIDE = 4096;

    private IdxReader() {}

    /** Reads split "train" or "test" of an MNIST-layout folder. */
    public static Dataset read(Path dir, String split, String name, int numClasses, Normalization normalization)
            throws IOException {
        String prefix = switch (split) {
            case "train" -> "train";
            case "test" -> "t10k";
            default -> throw new IllegalArgumentException("unknown split '" + split + "' (expected train or test)");
        };
        Path images = DataFiles.find(dir, prefix + "-images-idx3-ubyte.gz", prefix + "-images-idx3-ubyte");
        Path labels = DataFiles.find(dir, prefix + "-labels-idx1-ubyte.gz", prefix + "-labels-idx1-ubyte");
        return read(images, labels, name + "-" + split, numClasses, normalization);
    }

    /** Reads an images file and its labels file; counts must agree and labels be below numClasses. */
    public static Dataset read(Path imagesFile, Path labelsFile, String name, int numClasses,
                               Normalization normalization) throws IOException {
        byte[] header = new byte[16];
        byte[] pixels;
        int count, rows, cols;
        try (InputStream in = DataFiles.open(imagesFile)) {
            DataFiles.readFully(in, header, 0, 16, imagesFile, "the IDX image header");
            int magic = bigEndian(header, 0);
            if (magic != IMAGES_MAGIC)
                throw new DatasetFormatException(imagesFile, String.format(
                        "bad magic number 0x%08x, expected 0x%08x (IDX unsigned-byte images, 3 dimensions)",
                        magic, IMAGES_MAGIC));
            count = bigEndian(header, 4);
            rows = bigEndian(header, 8);
            cols = bigEndian(header, 12);
            if (count <= 0 || rows <= 0 || cols <= 0)
                throw new DatasetFormatException(imagesFile, "bad dimensions " + count + " x " + rows + " x " + cols
                        + " (all must be > 0)");
            if (rows > MAX_SIDE || cols > MAX_SIDE)
                throw new DatasetFormatException(imagesFile, "images of " + rows + " x " + cols + " exceed the limit of "
                        + MAX_SIDE + " rows and columns (corrupt header?)");
            long bytes = (long) count * rows * cols;
            if (bytes > DataFiles.MAX_ARRAY_BYTES)
                throw new DatasetFormatException(imagesFile, "dimensions " + count + " x " + rows + " x " + cols
                        + " are too large for one array (" + bytes + " bytes, at most " + DataFiles.MAX_ARRAY_BYTES + ")");
            String what = count + " images of " + rows + "x" + cols;
            pixels = DataFiles.readDeclared(in, imagesFile, 16, (int) bytes, what);
            DataFiles.expectEnd(in, imagesFile);
        }
        int[] labels = new int[count];
        try (InputStream in = DataFiles.open(labelsFile)) {
            DataFiles.readFully(in, header, 0, 8, labelsFile, "the IDX label header");
            int magic = bigEndian(header, 0);
            if (magic != LABELS_MAGIC)
                throw new DatasetFormatException(labelsFile, String.format(
                        "bad magic number 0x%08x, expected 0x%08x (IDX unsigned-byte labels, 1 dimension)",
                        magic, LABELS_MAGIC));
            int n = bigEndian(header, 4);
            if (n != count)
                throw new DatasetFormatException(labelsFile, "holds " + n + " labels but " + imagesFile.getFileName()
                        + " holds " + count + " images");
            byte[] raw = DataFiles.readDeclared(in, labelsFile, 8, n, n + " labels");
            DataFiles.expectEnd(in, labelsFile);
            for (int i = 0; i < n; i++) {
                labels[i] = raw[i] & 0xFF;
                if (labels[i] >= numClasses)
                    throw new DatasetFormatException(labelsFile, "label " + labels[i] + " of item " + i
                            + " is outside [0, " + numClasses + ")");
            }
        }
        return new Dataset(name, pixels, labels, 1, rows, cols, numClasses, normalization);
    }

    private static int bigEndian(byte[] b, int off) {
        return (b[off] & 0xFF) << 24 | (b[off + 1] & 0xFF) << 16 | (b[off + 2] & 0xFF) << 8 | (b[off + 3] & 0xFF);
    }
}
