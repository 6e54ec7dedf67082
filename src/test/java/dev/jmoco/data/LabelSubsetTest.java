package dev.jmoco.data;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The labelled fraction: balanced over the classes, the same for the same seed, distinct images of the set. */
class LabelSubsetTest {
    /** 1,000 images of 4 unequal classes: 400, 300, 200, 100, interleaved. */
    private static int[] labels() {
        int[] counts = {400, 300, 200, 100}, l = new int[1000];
        int at = 0;
        for (int round = 0; at < l.length; round++)
            for (int c = 0; c < 4; c++) if (round < counts[c]) l[at++] = c;
        return l;
    }

    @Test
    void eachClassGivesItsFractionOfDistinctImages() {
        int[] labels = labels();
        LabelSubset s = LabelSubset.balanced(labels, 4, 0.1, 7);
        assertArrayEquals(new int[] {40, 30, 20, 10}, s.perClass());
        assertEquals(100, s.size());
        int[] perClass = new int[4];
        Set<Integer> seen = new HashSet<>();
        for (int i : s.indices()) {
            assertTrue(seen.add(i), "image " + i + " chosen twice");
            perClass[labels[i]]++;
        }
        assertArrayEquals(s.perClass(), perClass, "the counts are those of the chosen images' labels");
        int[] sorted = s.indices().clone();
        Arrays.sort(sorted);
        assertArrayEquals(sorted, s.indices(), "ascending");
    }

    @Test
    void theSameSeedGivesTheSameSubsetAndAnotherSeedAnother() {
        assertEquals(LabelSubset.balanced(labels(), 4, 0.01, 3), LabelSubset.balanced(labels(), 4, 0.01, 3));
        assertNotEquals(Arrays.toString(LabelSubset.balanced(labels(), 4, 0.1, 3).indices()),
                Arrays.toString(LabelSubset.balanced(labels(), 4, 0.1, 4).indices()));
    }

    @Test
    void everyClassKeepsOneImageAndAllLabelsAreAll() {
        LabelSubset tiny = LabelSubset.balanced(labels(), 4, 0.001, 0);
        assertArrayEquals(new int[] {1, 1, 1, 1}, tiny.perClass(), "round(0.1) would leave class 3 out");
        assertEquals(1000, LabelSubset.balanced(labels(), 4, 1, 0).size());
        assertThrows(IllegalArgumentException.class, () -> LabelSubset.balanced(labels(), 4, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> LabelSubset.balanced(labels(), 4, 1.5, 0));
    }

    @Test
    void aWrittenSubsetReadsBackAndBadOnesAreRefusedNamingTheField(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws java.io.IOException {
        LabelSubset s = LabelSubset.balanced(labels(), 4, 0.1, 9);
        java.nio.file.Path file = dir.resolve("s.subset.json");
        java.nio.file.Files.writeString(file, "{\"dataset\": \"toy\", \"fraction\": 0.1, \"seed\": 9, \"indices\": "
                + Arrays.toString(s.indices()) + "}");
        assertEquals(s, LabelSubset.read(file, labels(), 4));
        java.nio.file.Files.writeString(file, "{\"fraction\": 0.1, \"seed\": 9, \"indices\": [3, 2]}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LabelSubset.read(file, labels(), 4));
        assertTrue(e.getMessage().contains("indices[1] = 2") && e.getMessage().contains(file.toString()), e.getMessage());
        java.nio.file.Files.writeString(file, "{\"fraction\": 0.1, \"seed\": 9, \"indices\": [1000]}");
        e = assertThrows(IllegalArgumentException.class, () -> LabelSubset.read(file, labels(), 4));
        assertTrue(e.getMessage().contains("is not an image of the 1000 training images"), e.getMessage());
        java.nio.file.Files.writeString(file, "{\"seed\": 9}");
        e = assertThrows(IllegalArgumentException.class, () -> LabelSubset.read(file, labels(), 4));
        assertTrue(e.getMessage().contains("needs the fields fraction, seed and indices"), e.getMessage());
    }

    @Test
    void theSelectionHoldsTheChosenImagesAndLabels() {
        byte[] pixels = new byte[10 * 4];
        int[] labels = new int[10];
        for (int i = 0; i < 10; i++) {
            labels[i] = i % 2;
            Arrays.fill(pixels, i * 4, i * 4 + 4, (byte) i);
        }
        Dataset d = new Dataset("toy", pixels, labels, 1, 2, 2, 2, Normalization.MNIST);
        Dataset s = d.select(new int[] {7, 2, 4});
        assertEquals(3, s.size());
        assertArrayEquals(new int[] {1, 0, 0}, s.labels());
        assertEquals(7, s.image(0)[0]);
        assertEquals(2, s.image(1)[3]);
        assertThrows(IndexOutOfBoundsException.class, () -> d.select(new int[] {10}));
    }
}
