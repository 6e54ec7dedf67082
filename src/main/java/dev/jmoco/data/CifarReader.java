package dev.jmoco.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the CIFAR binary formats: CIFAR-10 (data_batch_1..5.bin, test_batch.bin; records of 1 label byte +
 * 3072 pixel bytes, RGB planes of 32x32) and CIFAR-100 (train.bin, test.bin; coarse label byte + fine label
 * byte + 3072; the fine labels, 100 classes, are used). The files may sit in the given folder or in its
 * cifar-10-batches-bin/ or cifar-100-binary/ subfolder, as the archives unpack.
 */
public final class CifarReader {
    static final int SIDE = 32, CHANNELS = 3, IMAGE_BYTES = CHANNELS * SIDE * SIDE;

    private CifarReader() {}

    public static Dataset cifar10(Path dir, String split) throws IOException {
        Path base = folder(dir, "cifar-10-batches-bin", "data_batch_1.bin", "test_batch.bin");
        List<Path> files = new ArrayList<>();
        switch (split) {
            case "train" -> { for (int i = 1; i <= 5; i++) files.add(DataFiles.find(base, "data_batch_" + i + ".bin")); }
            case "test" -> files.add(DataFiles.find(base, "test_batch.bin"));
            default -> throw unknownSplit(split);
        }
        return read(files, 1, 10, "cifar10-" + split, Normalization.CIFAR10);
    }

    public static Dataset cifar100(Path dir, String split) throws IOException {
        Path base = folder(dir, "cifar-100-binary", "train.bin", "test.bin");
        Path file = switch (split) {
            case "train" -> DataFiles.find(base, "train.bin");
            case "test" -> DataFiles.find(base, "test.bin");
            default -> throw unknownSplit(split);
        };
        return read(List.of(file), 2, 100, "cifar100-" + split, Normalization.CIFAR100);
    }

    /**
     * Reads records of {@code labelBytes} label bytes (the last one is the class) + 3072 pixels from each
     * file in turn.
     */
    static Dataset read(List<Path> files, int labelBytes, int numClasses, String name, Normalization norm)
            throws IOException {
        int record = labelBytes + IMAGE_BYTES;
        long total = 0;
        long[] counts = new long[files.size()];
        for (int f = 0; f < files.size(); f++) {
            Path file = files.get(f);
            long size = Files.size(file);
            if (size == 0 || size % record != 0)
                throw new DatasetFormatException(file, "size " + size + " is not a positive multiple of the "
                        + record + "-byte record (" + labelBytes + " label byte(s) + " + IMAGE_BYTES
                        + " pixels): truncated or not a CIFAR-" + numClasses + " binary file");
            counts[f] = size / record;
            total += counts[f];
            // sizes come from the file system, not from a header, so this is the only allocation limit needed
            if (total * IMAGE_BYTES > DataFiles.MAX_ARRAY_BYTES)
                throw new DatasetFormatException(file, "brings the images read to " + total + ", too many for one"
                        + " array (at most " + DataFiles.MAX_ARRAY_BYTES / IMAGE_BYTES + ")");
        }
        byte[] pixels = new byte[(int) total * IMAGE_BYTES];
        int[] labels = new int[(int) total];
        byte[] recordBytes = new byte[record];
        int next = 0;
        for (int f = 0; f < files.size(); f++) {
            Path file = files.get(f);
            // plain reads: a record starting with bytes 1f 8b must not be taken for gzip
            try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
                for (long r = 0; r < counts[f]; r++, next++) {
                    DataFiles.readFully(in, recordBytes, 0, record, file, "record " + r);
                    if (labelBytes == 2 && (recordBytes[0] & 0xFF) >= 20)
                        throw new DatasetFormatException(file, "coarse label " + (recordBytes[0] & 0xFF)
                                + " of record " + r + " is outside [0, 20)");
                    int label = recordBytes[labelBytes - 1] & 0xFF;
                    if (label >= numClasses)
                        throw new DatasetFormatException(file, "label " + label + " of record " + r
                                + " is outside [0, " + numClasses + ")");
                    labels[next] = label;
                    System.arraycopy(recordBytes, labelBytes, pixels, next * IMAGE_BYTES, IMAGE_BYTES);
                }
            }
        }
        return new Dataset(name, pixels, labels, CHANNELS, SIDE, SIDE, numClasses, norm);
    }

    /** {@code dir} itself when it holds a marker file, else its archive subfolder when that does. */
    private static Path folder(Path dir, String subfolder, String... markers) {
        for (String m : markers) if (Files.isRegularFile(dir.resolve(m))) return dir;
        Path sub = dir.resolve(subfolder);
        return Files.isDirectory(sub) ? sub : dir;
    }

    private static IllegalArgumentException unknownSplit(String split) {
        return new IllegalArgumentException("unknown split '" + split + "' (expected train or test)");
    }
}
