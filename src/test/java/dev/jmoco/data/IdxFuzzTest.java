package dev.jmoco.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jmoco.testing.FuzzCase;
import dev.jmoco.testing.Mutator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link IdxReader} on seeded mutations of a valid IDX pair: the images or the labels file mutated, plain,
 * mutated before gzip (a lying header inside a valid stream) or mutated after gzip (a corrupt stream). Each
 * pair is either read with consistent counts and labels, or refused with a one-line DatasetFormatException
 * naming one of the two files.
 */
class IdxFuzzTest {
    private static final int CASES = 450, N = 12, ROWS = 7, COLS = 6, CLASSES = 10;
    private static final List<Mutator.Field> IMAGE_FIELDS = List.of(Mutator.Field.bigEndianInt(0),
            Mutator.Field.bigEndianInt(4), Mutator.Field.bigEndianInt(8), Mutator.Field.bigEndianInt(12));
    private static final List<Mutator.Field> LABEL_FIELDS = List.of(Mutator.Field.bigEndianInt(0),
            Mutator.Field.bigEndianInt(4));
    /** Far above what reading the small seed files needs, far below what a lying header claims. */
    private static final long MAX_ALLOCATED = 64L << 20;
    @TempDir Path dir;

    @Test void mutatedIdxPairsAreReadConsistentlyOrRefused() throws IOException {
        byte[] pixels = new byte[N * ROWS * COLS];
        for (int i = 0; i < pixels.length; i++) pixels[i] = (byte) (i * 29 + 3);
        byte[] labels = new byte[N];
        for (int i = 0; i < N; i++) labels[i] = (byte) (i % CLASSES);
        byte[] images = IdxReaderTest.imagesFile(IdxReader.IMAGES_MAGIC, N, ROWS, COLS, pixels);
        byte[] labelFile = IdxReaderTest.labelsFile(IdxReader.LABELS_MAGIC, N, labels);

        Mutator mutator = new Mutator(0x1D8_0001L);
        SplittableRandom choice = new SplittableRandom(0x1D8_0002L);
        FuzzCase.Tally tally = new FuzzCase.Tally();
        Path imagesPath = dir.resolve("fuzz-images-idx3-ubyte"), labelsPath = dir.resolve("fuzz-labels-idx1-ubyte");
        for (int i = 0; i < CASES; i++) {
            boolean mutateImages = choice.nextInt(3) > 0;
            int gzip = choice.nextInt(3); // 0 plain, 1 mutated then gzipped, 2 gzipped then mutated
            byte[] target = mutateImages ? images : labelFile;
            Mutator.Mutant m = mutator.mutate(gzip == 2 ? IdxReaderTest.gzip(target) : target,
                    gzip == 2 ? List.of() : mutateImages ? IMAGE_FIELDS : LABEL_FIELDS);
            byte[] mutated = gzip == 1 ? IdxReaderTest.gzip(m.bytes()) : m.bytes();
            byte[] other = gzip > 0 ? IdxReaderTest.gzip(mutateImages ? labelFile : images) : mutateImages ? labelFile : images;
            Files.write(imagesPath, mutateImages ? mutated : other);
            Files.write(labelsPath, mutateImages ? other : mutated);
            String name = "case " + i + " (" + (mutateImages ? "images" : "labels")
                    + List.of(", plain", ", mutated then gzipped", ", gzipped then mutated").get(gzip) + ": " + m.how() + ")";
            FuzzCase.run(name, () -> IdxReader.read(imagesPath, labelsPath, "fuzz", CLASSES, Normalization.FASHION_MNIST),
                    DatasetFormatException.class, dir.resolve("fuzz-").toString(), d -> {
                        assertEquals(d.size(), d.labels().length, name);
                        assertEquals(d.height() * d.width(), d.image(d.size() - 1).length, name);
                        for (int label : d.labels()) assertTrue(label >= 0 && label < CLASSES, name);
                    }, tally, MAX_ALLOCATED);
        }
        assertTrue(tally.accepted() > 0 && tally.refused() > 0, "both outcomes occur: " + tally);
    }
}
