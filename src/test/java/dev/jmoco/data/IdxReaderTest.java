package dev.jmoco.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** IDX files written by the test, plain and gzipped, and every corruption the reader must name. */
class IdxReaderTest {
    private static final int N = 5, ROWS = 3, COLS = 4;
    @TempDir Path dir;

    static byte[] imagesFile(int magic, int n, int rows, int cols, byte[] pixels) {
        return ByteBuffer.allocate(16 + pixels.length).putInt(magic).putInt(n).putInt(rows).putInt(cols).put(pixels).array();
    }

    static byte[] labelsFile(int magic, int n, byte[] labels) {
        return ByteBuffer.allocate(8 + labels.length).putInt(magic).putInt(n).put(labels).array();
    }

    static byte[] gzip(byte[] raw) throws IOException {
        var bytes = new ByteArrayOutputStream();
        try (OutputStream out = new GZIPOutputStream(bytes)) { out.write(raw); }
        return bytes.toByteArray();
    }

    private static byte[] pixels() {
        byte[] p = new byte[N * ROWS * COLS];
        for (int i = 0; i < p.length; i++) p[i] = (byte) (i * 37 + 11); // covers values above 127
        return p;
    }

    private static final byte[] LABELS = {3, 0, 9, 1, 7};

    private void write(String name, byte[] content) throws IOException {
        Files.write(dir.resolve(name), content);
    }

    private void writeValid(boolean gz) throws IOException {
        byte[] img = imagesFile(IdxReader.IMAGES_MAGIC, N, ROWS, COLS, pixels());
        byte[] lab = labelsFile(IdxReader.LABELS_MAGIC, N, LABELS);
        write("train-images-idx3-ubyte" + (gz ? ".gz" : ""), gz ? gzip(img) : img);
        write("train-labels-idx1-ubyte" + (gz ? ".gz" : ""), gz ? gzip(lab) : lab);
    }

    private void assertValid(Dataset d) {
        assertEquals(N, d.size());
        assertEquals(1, d.channels());
        assertEquals(ROWS, d.height());
        assertEquals(COLS, d.width());
        assertEquals(10, d.numClasses());
        assertEquals("fashion-mnist-train", d.name());
        assertArrayEquals(new int[] {3, 0, 9, 1, 7}, d.labels());
        byte[] p = pixels();
        for (int i = 0; i < N; i++)
            assertArrayEquals(Arrays.copyOfRange(p, i * 12, i * 12 + 12), d.image(i), "image " + i);
        assertEquals(p[12 + 2 * COLS + 1] & 0xFF, d.pixel(1, 0, 2, 1));
        assertEquals(Normalization.FASHION_MNIST, d.normalization());
    }

    @Test void readsPlainFiles() throws IOException {
        writeValid(false);
        assertValid(Datasets.open("fashion-mnist", dir, "train"));
    }

    @Test void readsGzippedFiles() throws IOException {
        writeValid(true);
        assertValid(Datasets.open("fashion-mnist", dir, "train"));
    }

    @Test void subsetIsAViewOfTheFirstImages() throws IOException {
        writeValid(false);
        Dataset d = Datasets.open("fashion-mnist", dir, "train").subset(2);
        assertEquals(2, d.size());
        assertArrayEquals(new int[] {3, 0}, d.labels());
        assertThrows(IndexOutOfBoundsException.class, () -> d.label(2));
    }

    private String failure(byte[] images, byte[] labels) throws IOException {
        write("train-images-idx3-ubyte", images);
        write("train-labels-idx1-ubyte", labels);
        return assertThrows(DatasetFormatException.class, () -> Datasets.open("fashion-mnist", dir, "train")).getMessage();
    }

    private void assertMessage(String message, String file, String... parts) {
        assertTrue(message.startsWith(dir.resolve(file).toString() + ": "), "names the file: " + message);
        for (String p : parts) assertTrue(message.contains(p), "'" + message + "' should contain '" + p + "'");
    }

    @Test void badImageMagic() throws IOException {
        String m = failure(imagesFile(0x00000801, N, ROWS, COLS, pixels()), labelsFile(IdxReader.LABELS_MAGIC, N, LABELS));
        assertMessage(m, "train-images-idx3-ubyte", "bad magic number 0x00000801", "0x00000803");
    }

    @Test void badLabelMagic() throws IOException {
        String m = failure(imagesFile(IdxReader.IMAGES_MAGIC, N, ROWS, COLS, pixels()), labelsFile(0x00000803, N, LABELS));
        assertMessage(m, "train-labels-idx1-ubyte", "bad magic number 0x00000803", "0x00000801");
    }

    @Test void badDimensions() throws IOException {
        String m = failure(imagesFile(IdxReader.IMAGES_MAGIC, N, 0, COLS, new byte[0]), labelsFile(IdxReader.LABELS_MAGIC, N, LABELS));
        assertMessage(m, "train-images-idx3-ubyte", "bad dimensions 5 x 0 x 4");
    }

    @Test void truncatedImages() throws IOException {
        byte[] full = imagesFile(IdxReader.IMAGES_MAGIC, N, ROWS, COLS, pixels());
        String m = failure(Arrays.copyOf(full, full.length - 7), labelsFile(IdxReader.LABELS_MAGIC, N, LABELS));
        assertMessage(m, "train-images-idx3-ubyte", "truncated", "60 bytes", "53 left");
    }

    @Test void truncatedHeader() throws IOException {
        String m = failure(new byte[] {0, 0, 8, 3, 0}, labelsFile(IdxReader.LABELS_MAGIC, N, LABELS));
        assertMessage(m, "train-images-idx3-ubyte", "truncated", "header");
    }

    @Test void trailingBytes() throws IOException {
        byte[] full = imagesFile(IdxReader.IMAGES_MAGIC, N, ROWS, COLS, pixels());
        String m = failure(Arrays.copyOf(full, full.length + 3), labelsFile(IdxReader.LABELS_MAGIC, N, LABELS));
        assertMessage(m, "train-images-idx3-ubyte", "3 unexpected bytes");
    }

    @Test void labelOutOfRange() throws IOException {
        String m = failure(imagesFile(IdxReader.IMAGES_MAGIC, N, ROWS, COLS, pixels()),
                labelsFile(IdxReader.LABELS_MAGIC, N, new byte[] {3, 0, 10, 1, 7}));
        assertMessage(m, "train-labels-idx1-ubyte", "label 10 of item 2", "[0, 10)");
    }

    @Test void mismatchedCounts() throws IOException {
        String m = failure(imagesFile(IdxReader.IMAGES_MAGIC, N, ROWS, COLS, pixels()),
                labelsFile(IdxReader.LABELS_MAGIC, 4, Arrays.copyOf(LABELS, 4)));
        assertMessage(m, "train-labels-idx1-ubyte", "4 labels", "5 images", "train-images-idx3-ubyte");
    }

    @Test void truncatedGzip() throws IOException {
        byte[] gz = gzip(imagesFile(IdxReader.IMAGES_MAGIC, N, ROWS, COLS, pixels()));
        write("train-images-idx3-ubyte.gz", Arrays.copyOf(gz, gz.length / 2));
        write("train-labels-idx1-ubyte.gz", gzip(labelsFile(IdxReader.LABELS_MAGIC, N, LABELS)));
        String m = assertThrows(DatasetFormatException.class, () -> Datasets.open("fashion-mnist", dir, "train")).getMessage();
        assertMessage(m, "train-images-idx3-ubyte.gz", "truncated");
    }

    /** Bytes the current thread allocates while running {@code body}. */
    static long allocatedBy(org.junit.jupiter.api.function.Executable body) {
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        assertThrows(DatasetFormatException.class, body);
        return threads.getCurrentThreadAllocatedBytes() - before;
    }

    @Test void headerClaimingTwoBillionImagesFailsWithoutAllocatingThem() throws IOException {
        int claimed = Integer.MAX_VALUE - 15; // 2^31 - 16 images of 1 x 1: one array could hold them
        byte[] header = imagesFile(IdxReader.IMAGES_MAGIC, claimed, 1, 1, new byte[0]);
        for (boolean gz : new boolean[] {false, true}) {
            String name = "train-images-idx3-ubyte" + (gz ? ".gz" : "");
            Files.deleteIfExists(dir.resolve("train-images-idx3-ubyte"));
            write(name, gz ? gzip(header) : header);
            write("train-labels-idx1-ubyte", labelsFile(IdxReader.LABELS_MAGIC, N, LABELS));
            long allocated = allocatedBy(() -> Datasets.open("fashion-mnist", dir, "train"));
            assertTrue(allocated < 64 << 20, name + ": allocated " + allocated + " bytes");
            String m = assertThrows(DatasetFormatException.class, () -> Datasets.open("fashion-mnist", dir, "train"))
                    .getMessage();
            assertMessage(m, name, "truncated: 2147483632 images of 1x1 needs 2147483632 bytes, only 0 left");
        }
    }

    @Test void labelCountBeyondTheFileIsTruncated() throws IOException {
        byte[] img = imagesFile(IdxReader.IMAGES_MAGIC, N, ROWS, COLS, pixels());
        String m = failure(img, Arrays.copyOf(labelsFile(IdxReader.LABELS_MAGIC, N, LABELS), 10));
        assertMessage(m, "train-labels-idx1-ubyte", "truncated: 5 labels needs 5 bytes, only 2 left");
    }

    @Test void sidesBeyondTheLimitAreRefused() throws IOException {
        String m = failure(imagesFile(IdxReader.IMAGES_MAGIC, 1, IdxReader.MAX_SIDE + 1, 1, new byte[0]),
                labelsFile(IdxReader.LABELS_MAGIC, 1, new byte[1]));
        assertMessage(m, "train-images-idx3-ubyte", "images of 4097 x 1 exceed the limit of 4096");
        m = failure(imagesFile(IdxReader.IMAGES_MAGIC, 1 << 20, 4096, 4096, new byte[0]),
                labelsFile(IdxReader.LABELS_MAGIC, 1, new byte[1]));
        assertMessage(m, "train-images-idx3-ubyte", "too large for one array");
    }

    @Test void corruptGzipStreamsAreNamedOnOneLine() throws IOException {
        byte[] gz = gzip(imagesFile(IdxReader.IMAGES_MAGIC, N, ROWS, COLS, pixels()));
        write("train-labels-idx1-ubyte.gz", gzip(labelsFile(IdxReader.LABELS_MAGIC, N, LABELS)));
        byte[] badTrailer = gz.clone();
        badTrailer[gz.length - 8] ^= 1; // the CRC-32 of the content
        byte[] badBlock = gz.clone();
        badBlock[10] = (byte) 0xFF;     // the first deflate block header: an invalid block type
        byte[][] cases = {badTrailer, badBlock, Arrays.copyOf(gz, 2), Arrays.copyOf(gz, 7)};
        String[] expected = {"Corrupt GZIP trailer", "corrupt", "corrupt gzip data", "corrupt gzip data"};
        for (int i = 0; i < cases.length; i++) {
            write("train-images-idx3-ubyte.gz", cases[i]);
            String m = assertThrows(DatasetFormatException.class, () -> Datasets.open("fashion-mnist", dir, "train"))
                    .getMessage();
            assertMessage(m, "train-images-idx3-ubyte.gz", expected[i]);
            assertTrue(!m.contains("\n"), m);
        }
    }

    @Test void gzipTrailingDataIsCountedOnlyUpToAMebibyte() throws IOException {
        byte[] img = imagesFile(IdxReader.IMAGES_MAGIC, N, ROWS, COLS, pixels());
        write("train-images-idx3-ubyte.gz", gzip(Arrays.copyOf(img, img.length + (64 << 20)))); // 64 MiB of zeros
        write("train-labels-idx1-ubyte.gz", gzip(labelsFile(IdxReader.LABELS_MAGIC, N, LABELS)));
        String m = assertThrows(DatasetFormatException.class, () -> Datasets.open("fashion-mnist", dir, "train"))
                .getMessage();
        assertMessage(m, "train-images-idx3-ubyte.gz", "at least 1048576 unexpected bytes after the declared data");
    }

    @Test void missingFileListsExpectedNames() throws IOException {
        write("train-images-idx3-ubyte", imagesFile(IdxReader.IMAGES_MAGIC, N, ROWS, COLS, pixels()));
        String m = assertThrows(DatasetFormatException.class, () -> Datasets.open("fashion-mnist", dir, "train")).getMessage();
        assertTrue(m.startsWith(dir + ": missing file"), m);
        assertTrue(m.contains("train-labels-idx1-ubyte.gz") && m.contains("train-labels-idx1-ubyte]"), m);
        String t = assertThrows(DatasetFormatException.class, () -> Datasets.open("mnist", dir, "test")).getMessage();
        assertTrue(t.contains("t10k-images-idx3-ubyte.gz"), t);
    }

    @Test void unknownKindAndSplit() {
        assertThrows(IllegalArgumentException.class, () -> Datasets.open("imagenet", dir, "train"));
        assertThrows(IllegalArgumentException.class, () -> Datasets.open("mnist", dir, "validation"));
    }
}
