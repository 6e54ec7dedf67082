package dev.jmoco.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The real Fashion-MNIST of Debian's dataset-fashion-mnist (installed on the build machines and in CI).
 * Expected values were read once with Python's gzip module from the same files.
 */
class FashionMnistTest {
    static final Path DIR = Path.of("/usr/share/datasets/fashion-mnist");

    @Test void trainSplit() throws IOException {
        Dataset d = Datasets.open("fashion-mnist", DIR, "train");
        assertEquals(60000, d.size());
        assertEquals(28, d.height());
        assertEquals(28, d.width());
        assertEquals(1, d.channels());
        assertEquals(10, d.numClasses());
        int[] labels = d.labels();
        assertArrayEquals(new int[] {9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9}, java.util.Arrays.copyOf(labels, 12));
        int[] perClass = new int[10];
        for (int l : labels) perClass[l]++;
        for (int c = 0; c < 10; c++) assertEquals(6000, perClass[c], "class " + c);
        assertEquals(76247, sum(d.image(0)));
        // row 14 of the first image: 00 00 01 04 06 07 02 00 ...
        assertEquals(0x04, d.pixel(0, 0, 14, 3));
        assertEquals(0xed, d.pixel(0, 0, 14, 12));
        assertEquals(0x4d, d.pixel(0, 0, 14, 26));
    }

    @Test void testSplit() throws IOException {
        Dataset d = Datasets.open("fashion-mnist", DIR, "test");
        assertEquals(10000, d.size());
        assertArrayEquals(new int[] {9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5}, java.util.Arrays.copyOf(d.labels(), 12));
        assertEquals(33456, sum(d.image(0)));
        assertEquals(0x62, d.pixel(0, 0, 14, 12));
    }

    private static int sum(byte[] image) {
        int s = 0;
        for (byte b : image) s += b & 0xFF;
        return s;
    }
}
