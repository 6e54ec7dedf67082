package dev.jmoco.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jmoco.io.Safetensors.Contents;
import dev.jmoco.io.Safetensors.Tensor;
import dev.jmoco.testing.FuzzCase;
import dev.jmoco.testing.Mutator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Safetensors#read} and {@link Safetensors#readMetadata} on seeded mutations of a file written by
 * {@link Safetensors#write}: byte-level mutations of the whole file, and JSON mutations of its header with the
 * header length kept right (so they reach the checks past the JSON parser). Each file is either read with
 * every tensor's values matching its shape, or refused with a one-line IOException that starts with the file.
 */
class SafetensorsFuzzTest {
    private static final int CASES = 400;
    /** Far above what reading the small seed files needs, far below what a lying header claims. */
    private static final long MAX_ALLOCATED = 64L << 20;
    @TempDir Path dir;
    private byte[] seed;

    @BeforeEach void writeSeed() throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("conv.weight", Tensor.of(new float[] {1, -2, 3.5f, 0, 5, 6}, 2, 3));
        tensors.put("bias", Tensor.of(new float[] {0.25f}));
        tensors.put("half", new Tensor("F16", new long[] {3}, new float[] {0.5f, -2, 1024}, null));
        tensors.put("count", new Tensor("I32", new long[] {2}, null, new long[] {7, -9}));
        tensors.put("queue_ptr", Tensor.ofLongs(new long[] {42}, 1));
        tensors.put("empty", Tensor.of(new float[0], 0, 4));
        Path file = dir.resolve("seed.safetensors");
        Safetensors.write(file, tensors, Map.of("format", "pt", "epoch", "3"));
        seed = Files.readAllBytes(file);
    }

    @Test void mutatedBytesAreReadConsistentlyOrRefused() throws IOException {
        Mutator mutator = new Mutator(0x5AFE_0001L);
        FuzzCase.Tally tally = new FuzzCase.Tally();
        List<Mutator.Field> fields = List.of(Mutator.Field.littleEndianLong(0));
        for (int i = 0; i < CASES; i++) {
            Mutator.Mutant m = mutator.mutate(seed, fields);
            check("bytes case " + i + " (" + m.how() + ")", m.bytes(), tally);
        }
        assertTrue(tally.refused() > 0, tally.toString());
    }

    @Test void mutatedHeadersAreReadConsistentlyOrRefused() throws IOException {
        Mutator mutator = new Mutator(0x5AFE_0002L);
        FuzzCase.Tally tally = new FuzzCase.Tally();
        int headerLength = (int) ByteBuffer.wrap(seed).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        String header = new String(seed, 8, headerLength, StandardCharsets.UTF_8);
        byte[] data = Arrays.copyOfRange(seed, 8 + headerLength, seed.length);
        for (int i = 0; i < CASES; i++) {
            Mutator.TextMutant m = mutator.mutateJson(header);
            byte[] h = m.text().getBytes(StandardCharsets.UTF_8);
            byte[] file = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
                    .putLong(h.length).put(h).put(data).array();
            check("header case " + i + " (" + m.how() + ")", file, tally);
        }
        assertTrue(tally.accepted() > 0 && tally.refused() > 0, "both outcomes occur: " + tally);
    }

    private void check(String name, byte[] content, FuzzCase.Tally tally) throws IOException {
        Path file = dir.resolve("fuzz.safetensors");
        Files.write(file, content);
        String prefix = file + ": ";
        FuzzCase.run(name, () -> Safetensors.read(file), IOException.class, prefix,
                contents -> checkContents(name, contents), tally, MAX_ALLOCATED);
        FuzzCase.run(name + " metadata", () -> Safetensors.readMetadata(file), IOException.class, prefix,
                metadata -> assertNotNull(metadata, name), new FuzzCase.Tally());
    }

    private static void checkContents(String name, Contents contents) {
        for (Map.Entry<String, Tensor> e : contents.tensors().entrySet()) {
            Tensor t = e.getValue();
            long values = t.data() != null ? t.data().length : t.ints().length;
            assertEquals(t.elements(), values, name + ": tensor " + e.getKey());
            long product = 1;
            for (long d : t.shape()) product *= d;
            assertEquals(product, t.elements(), name + ": tensor " + e.getKey());
        }
        contents.metadata().forEach((k, v) -> assertNotNull(v, name + ": metadata " + k));
    }
}
