package dev.jmoco.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CIFAR-10/100 binary files written by the test (3 records per file), including corrupt ones. */
class CifarReaderTest {
    private static final int RECORDS = 3;
    @TempDir Path dir;

    /** Pixel byte p of record r of file f: a pattern that differs per file, record and position. */
    private static byte pixel(int f, int r, int p) {
        return (byte) (f * 71 + r * 13 + p * 7);
    }

    private static byte[] file(int f, int labelBytes, int[][] labels) {
        int record = labelBytes + 3072;
        byte[] b = new byte[labels.length * record];
        for (int r = 0; r < labels.length; r++) {
            for (int k = 0; k < labelBytes; k++) b[r * record + k] = (byte) labels[r][k];
            for (int p = 0; p < 3072; p++) b[r * record + labelBytes + p] = pixel(f, r, p);
        }
        return b;
    }

    private Path writeCifar10(Path folder) throws IOException {
        Files.createDirectories(folder);
        for (int f = 1; f <= 5; f++)
            Files.write(folder.resolve("data_batch_" + f + ".bin"), file(f, 1, new int[][] {{f}, {9}, {0}}));
        Files.write(folder.resolve("test_batch.bin"), file(0, 1, new int[][] {{4}, {5}, {6}}));
        return folder;
    }

    @Test void cifar10InASubfolder() throws IOException {
        writeCifar10(dir.resolve("cifar-10-batches-bin"));
        Dataset train = Datasets.open("cifar10", dir, "train");
        assertEquals(5 * RECORDS, train.size());
        assertEquals(3, train.channels());
        assertEquals(32, train.height());
        assertEquals(10, train.numClasses());
        assertArrayEquals(new int[] {1, 9, 0, 2, 9, 0, 3, 9, 0, 4, 9, 0, 5, 9, 0}, train.labels());
        // image 7 is record 1 of file 3; channel 2 (blue), y 5, x 6 is byte 2*1024 + 5*32 + 6
        assertEquals(pixel(3, 1, 2 * 1024 + 5 * 32 + 6) & 0xFF, train.pixel(7, 2, 5, 6));
        assertEquals(Normalization.CIFAR10, train.normalization());
        Dataset test = Datasets.open("cifar10", dir, "test");
        assertArrayEquals(new int[] {4, 5, 6}, test.labels());
        byte[] expected = new byte[3072];
        for (int p = 0; p < 3072; p++) expected[p] = pixel(0, 2, p);
        assertArrayEquals(expected, test.image(2));
    }

    @Test void cifar10InTheFolderItself() throws IOException {
        writeCifar10(dir);
        assertEquals(RECORDS, Datasets.open("cifar10", dir, "test").size());
    }

    @Test void cifar100UsesFineLabels() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("cifar-100-binary"));
        Files.write(folder.resolve("train.bin"), file(1, 2, new int[][] {{19, 99}, {0, 42}, {3, 0}}));
        Files.write(folder.resolve("test.bin"), file(2, 2, new int[][] {{1, 7}}));
        Dataset train = Datasets.open("cifar100", dir, "train");
        assertEquals(100, train.numClasses());
        assertArrayEquals(new int[] {99, 42, 0}, train.labels());
        assertEquals(pixel(1, 2, 1000) & 0xFF, train.pixel(2, 0, 1000 / 32, 1000 % 32));
        assertEquals(Normalization.CIFAR100, train.normalization());
        assertArrayEquals(new int[] {7}, Datasets.open("cifar100", dir, "test").labels());
    }

    private void assertMessage(String message, Path file, String... parts) {
        assertTrue(message.startsWith(file + ": "), "names the file: " + message);
        for (String p : parts) assertTrue(message.contains(p), "'" + message + "' should contain '" + p + "'");
    }

    @Test void truncatedFile() throws IOException {
        writeCifar10(dir);
        Path f = dir.resolve("data_batch_3.bin");
        byte[] b = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(b, b.length - 100));
        var e = assertThrows(DatasetFormatException.class, () -> Datasets.open("cifar10", dir, "train"));
        assertMessage(e.getMessage(), f, "not a positive multiple of the 3073-byte record");
        assertEquals(f, e.file());
    }

    @Test void labelOutOfRange() throws IOException {
        writeCifar10(dir);
        Path f = dir.resolve("test_batch.bin");
        Files.write(f, file(0, 1, new int[][] {{4}, {10}}));
        assertMessage(assertThrows(DatasetFormatException.class, () -> Datasets.open("cifar10", dir, "test")).getMessage(),
                f, "label 10 of record 1", "[0, 10)");
    }

    @Test void coarseLabelOutOfRange() throws IOException {
        Files.write(dir.resolve("test.bin"), file(0, 2, new int[][] {{20, 1}}));
        assertMessage(assertThrows(DatasetFormatException.class, () -> Datasets.open("cifar100", dir, "test")).getMessage(),
                dir.resolve("test.bin"), "coarse label 20 of record 0");
    }

    @Test void cifar100FileReadAsCifar10IsRefusedBySize() throws IOException {
        Files.write(dir.resolve("test_batch.bin"), file(0, 2, new int[][] {{1, 2}}));
        assertMessage(assertThrows(DatasetFormatException.class, () -> Datasets.open("cifar10", dir, "test")).getMessage(),
                dir.resolve("test_batch.bin"), "3074 is not a positive multiple");
    }

    @Test void missingBatchListsItsName() throws IOException {
        writeCifar10(dir);
        Files.delete(dir.resolve("data_batch_4.bin"));
        String m = assertThrows(DatasetFormatException.class, () -> Datasets.open("cifar10", dir, "train")).getMessage();
        assertTrue(m.startsWith(dir + ": missing file") && m.contains("data_batch_4.bin"), m);
    }
}
