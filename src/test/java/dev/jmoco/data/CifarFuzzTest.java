package dev.jmoco.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jmoco.testing.FuzzCase;
import dev.jmoco.testing.Mutator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link CifarReader} on seeded mutations of CIFAR-10 and CIFAR-100 files: each is either read with one label
 * in range per record, or refused with a one-line DatasetFormatException naming the file.
 */
class CifarFuzzTest {
    private static final int CASES = 200, RECORDS = 4;
    /** Far above what reading the small seed files needs, far below what a lying header claims. */
    private static final long MAX_ALLOCATED = 64L << 20;
    @TempDir Path dir;

    private static byte[] records(int labelBytes, int classes) {
        int record = labelBytes + CifarReader.IMAGE_BYTES;
        byte[] b = new byte[RECORDS * record];
        for (int r = 0; r < RECORDS; r++) {
            for (int k = 0; k < labelBytes; k++) b[r * record + k] = (byte) ((r * 7 + k) % Math.min(20, classes));
            for (int p = 0; p < CifarReader.IMAGE_BYTES; p++) b[r * record + labelBytes + p] = (byte) (r * 31 + p * 5);
        }
        return b;
    }

    @Test void mutatedCifar10IsReadConsistentlyOrRefused() throws IOException {
        fuzz(1, 10, 0xC1FA_0010L);
    }

    @Test void mutatedCifar100IsReadConsistentlyOrRefused() throws IOException {
        fuzz(2, 100, 0xC1FA_0100L);
    }

    private void fuzz(int labelBytes, int classes, long seed) throws IOException {
        byte[] valid = records(labelBytes, classes);
        Mutator mutator = new Mutator(seed);
        FuzzCase.Tally tally = new FuzzCase.Tally();
        Path file = dir.resolve("fuzz_batch.bin");
        for (int i = 0; i < CASES; i++) {
            Mutator.Mutant m = mutator.mutate(valid, List.of());
            Files.write(file, m.bytes());
            String name = "CIFAR-" + classes + " case " + i + " (" + m.how() + ")";
            FuzzCase.run(name, () -> CifarReader.read(List.of(file), labelBytes, classes, "fuzz",
                            classes == 10 ? Normalization.CIFAR10 : Normalization.CIFAR100),
                    DatasetFormatException.class, file.toString(), d -> {
                        assertEquals(m.bytes().length / (labelBytes + CifarReader.IMAGE_BYTES), d.size(), name);
                        assertEquals(CifarReader.IMAGE_BYTES, d.image(d.size() - 1).length, name);
                        for (int label : d.labels()) assertTrue(label >= 0 && label < classes, name);
                    }, tally, MAX_ALLOCATED);
        }
        assertTrue(tally.accepted() > 0 && tally.refused() > 0, "both outcomes occur: " + tally);
    }
}
