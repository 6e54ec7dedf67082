package dev.jmoco.io;

import dev.jmoco.io.Safetensors.Contents;
import dev.jmoco.io.Safetensors.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsTest {
    @TempDir Path dir;

    @Test
    void roundTripKeepsValuesShapesOrderAndMetadata() throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("z.weight", Tensor.of(new float[]{1.5f, -0f, Float.MIN_VALUE, Float.MAX_VALUE, Float.NaN,
                Float.NEGATIVE_INFINITY}, 2, 3));
        tensors.put("a.scalar", Tensor.of(new float[]{42f}));
        tensors.put("empty", Tensor.of(new float[0], 0, 5));
        tensors.put("half", new Tensor("F16", new long[]{3}, new float[]{0.5f, -65504f, 0.099975586f}, null));
        tensors.put("ptr", Tensor.ofLongs(new long[]{Long.MIN_VALUE, 7, Long.MAX_VALUE}, 3));
        tensors.put("i32", new Tensor("I32", new long[]{2}, null, new long[]{Integer.MIN_VALUE, Integer.MAX_VALUE}));
        Map<String, String> metadata = Map.of("format", "pt", "note", "quote \" backslash \\ tab\t é");
        Path file = dir.resolve("model.safetensors");

        Safetensors.write(file, tensors, metadata);
        Contents back = Safetensors.read(file);

        assertEquals(List.copyOf(tensors.keySet()), List.copyOf(back.tensors().keySet()), "header order");
        for (String name : tensors.keySet()) {
            Tensor expected = tensors.get(name), actual = back.tensors().get(name);
            assertEquals(expected.dtype(), actual.dtype(), name);
            assertArrayEquals(expected.shape(), actual.shape(), name);
            if (expected.data() != null) {
                assertArrayEquals(expected.data(), actual.data(), name);  // bit-exact, NaN and -0 included
                assertNull(actual.ints(), name);
            } else {
                assertArrayEquals(expected.ints(), actual.ints(), name);
                assertNull(actual.data(), name);
            }
        }
        assertEquals(metadata, back.metadata());
        long headerLength = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLength % 8, "data section must start 8-byte aligned");
    }

    @Test
    void largeTensorsCrossTheWriteChunks() throws IOException {
        float[] data = new float[(3 << 20) / 4 * 2 + 17];  // two and a bit 1 MiB chunks with a ragged tail
        for (int i = 0; i < data.length; i++) data[i] = i * 0.25f - 1000f;
        Path file = dir.resolve("big.safetensors");
        Safetensors.write(file, Map.of("w", Tensor.of(data, data.length)), Map.of());
        Contents back = Safetensors.read(file);
        assertArrayEquals(data, back.tensors().get("w").data());
        assertTrue(back.metadata().isEmpty());
        assertEquals(Files.size(file), 8 + headerLength(file) + 4L * data.length);
    }

    @Test
    void writeReplacesAtomicallyAndLeavesNoTemporaryFile() throws IOException {
        Path file = dir.resolve("ckpt.safetensors");
        Safetensors.write(file, Map.of("a", Tensor.of(new float[]{1, 2}, 2)), Map.of("step", "1"));
        Safetensors.write(file, Map.of("b", Tensor.of(new float[]{3}, 1)), Map.of("step", "2"));
        Contents back = Safetensors.read(file);
        assertEquals(List.of("b"), List.copyOf(back.tensors().keySet()));
        assertEquals("2", back.metadata().get("step"));
        try (var files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList(), "only the target may remain in the folder");
        }
    }

    @Test
    void failedWriteLeavesTheOldFileAndNoTemporaryFile() throws IOException {
        Path file = dir.resolve("ckpt.safetensors");
        Safetensors.write(file, Map.of("a", Tensor.of(new float[]{1, 2}, 2)), Map.of());
        Tensor tooWide = new Tensor("I32", new long[]{1}, null, new long[]{1L << 40});
        assertThrows(ArithmeticException.class, () -> Safetensors.write(file, Map.of("x", tooWide), Map.of()));
        assertArrayEquals(new float[]{1, 2}, Safetensors.read(file).tensors().get("a").data());
        try (var files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList());
        }
    }

    @Test
    void tensorRejectsInconsistentParts() {
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[5], 2, 3));
        assertThrows(IllegalArgumentException.class, () -> new Tensor("BF16", new long[]{1}, new float[1], null));
        assertThrows(IllegalArgumentException.class, () -> new Tensor("I64", new long[]{1}, new float[1], null));
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[0], -1, 0));
        assertThrows(IllegalStateException.class, () -> Tensor.of(new float[1], 1).toIntArray());
        assertThrows(ArithmeticException.class, () -> Tensor.ofLongs(new long[]{1L << 31}, 1).toIntArray());
        assertArrayEquals(new int[]{3, -1}, Tensor.ofLongs(new long[]{3, -1}, 2).toIntArray());
    }

    /** readMetadata gives read's metadata, and validates the header the same way (a truncated file fails). */
    @Test
    void metadataAloneMatchesTheWholeRead() throws IOException {
        Path file = dir.resolve("meta.safetensors");
        Safetensors.write(file, Map.of("w", Tensor.of(new float[] {1, 2, 3}, 3)), Map.of("arch", "small", "epoch", "4"));
        assertEquals(Safetensors.read(file).metadata(), Safetensors.readMetadata(file));
        assertEquals("small", Safetensors.readMetadata(file).get("arch"));
        byte[] bytes = java.nio.file.Files.readAllBytes(file);
        java.nio.file.Files.write(file, Arrays.copyOf(bytes, bytes.length - 4));
        assertThrows(IOException.class, () -> Safetensors.readMetadata(file));
    }

    /** A fixture written by tools/golden/make_fixtures.py (Python's struct + json, not this class). */
    @Test
    void readsFilesWrittenByThePythonScript() throws IOException, URISyntaxException {
        Contents c = Safetensors.read(golden("index_select"));
        assertEquals("gather_rows", c.metadata().get("op"));
        assertEquals(List.of("src", "index", "out"), List.copyOf(c.tensors().keySet()));
        Tensor src = c.tensors().get("src"), index = c.tensors().get("index"), out = c.tensors().get("out");
        assertArrayEquals(new long[]{10, 6}, src.shape());
        assertEquals("I64", index.dtype());
        assertArrayEquals(new long[]{3, 0, 9, 3, 7, 7, 1}, index.ints());
        for (int i = 0; i < 7; i++)  // the stored output is the stored source's rows: the bytes line up
            assertArrayEquals(Arrays.copyOfRange(src.data(), (int) index.ints()[i] * 6, (int) index.ints()[i] * 6 + 6),
                    Arrays.copyOfRange(out.data(), i * 6, i * 6 + 6));

        Tensor queue = Safetensors.read(golden("infonce")).tensors().get("queue");
        assertEquals("F16", queue.dtype());
        assertArrayEquals(new long[]{4096, 128}, queue.shape());
        for (int row = 0; row < 4096; row++) {  // rows were unit vectors before rounding to float16
            double sum = 0;
            for (int j = 0; j < 128; j++) sum += queue.data()[row * 128 + j] * queue.data()[row * 128 + j];
            assertEquals(1.0, Math.sqrt(sum), 2e-3, "queue row " + row);
        }
    }

    // ---- corrupt files: each error names the file, the tensor where there is one, and the fault ----------

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            unknown dtype     | {"w":{"dtype":"Q8","shape":[2],"data_offsets":[0,8]}}                               | 8  | tensor 'w': unknown dtype Q8
            offsets past end  | {"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}                             | 8  | tensor 'w': data_offsets [0, 16] run past the data section of 8 bytes
            offsets reversed  | {"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}                              | 8  | tensor 'w': data_offsets [8, 4] end before they begin
            offsets overlap   | {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}} | 12 | tensor 'b': data_offsets [4, 12] overlap tensor 'a' ending at 8
            offsets leave gap | {"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}                             | 8  | tensor 'a': data_offsets [4, 8] leave a gap of 4 bytes after the header
            bytes left over   | {"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}                             | 12 | data section has 12 bytes but its tensors cover 4
            shape vs bytes    | {"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,8]}}                            | 8  | tensor 'w': shape [2, 2] of F32 needs 16 bytes but data_offsets [0, 8] hold 8
            negative dim      | {"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}                             | 8  | tensor 'w': shape [-2] must hold non-negative integers
            one offset        | {"w":{"dtype":"F32","shape":[2],"data_offsets":[8]}}                                | 8  | tensor 'w': data_offsets must hold [begin, end]
            no dtype          | {"w":{"shape":[2],"data_offsets":[0,8]}}                                            | 8  | tensor 'w': has no dtype string
            bad metadata      | {"__metadata__":{"step":3}}                                                         | 0  | __metadata__ value of "step" is not a string
            not an object     | [1,2]                                                                               | 0  | header is not a JSON object
            bad JSON          | {"w":{"dtype":"F32",}}                                                              | 0  | header: bad JSON at character 20
            duplicate tensor  | {"w":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"w":{}}                       | 0  | duplicate key "w"
            shape past long   | {"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,0]}} | 0 | tensor 'w': shape [4294967296, 4294967296, 4294967296] has more than 2147483639 elements
            shape past array  | {"w":{"dtype":"F32","shape":[65536,32768],"data_offsets":[0,0]}}                    | 0  | tensor 'w': shape [65536, 32768] has more than 2147483639 elements
            double offsets    | {"w":{"dtype":"F32","shape":[2],"data_offsets":[0.0,8.0]}}                          | 8  | tensor 'w': data_offsets [0.0, 8.0] must hold non-negative integers
            offset past long  | {"w":{"dtype":"F32","shape":[2],"data_offsets":[0,9223372036854775808]}}            | 8  | tensor 'w': data_offsets [0, 9.223372036854776E18] must hold non-negative integers
            string in shape   | {"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}                            | 8  | tensor 'w': shape ["2"] must hold non-negative integers
            shape not array   | {"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}                                | 8  | tensor 'w': shape is not a JSON array
            entry not object  | {"w":[1]}                                                                           | 0  | tensor 'w': entry is not a JSON object
            dtype not string  | {"w":{"dtype":7,"shape":[2],"data_offsets":[0,8]}}                                  | 8  | tensor 'w': has no dtype string
            metadata array    | {"__metadata__":[1]}                                                                | 0  | __metadata__ is not a JSON object
            infinite number   | {"w":{"dtype":"F32","shape":[1e999],"data_offsets":[0,8]}}                          | 8  | header: bad JSON at character 29: number "1e999" is out of range
            """)
    void corruptHeaderIsReportedWithFileTensorAndFault(String fault, String header, int dataBytes, String message)
            throws IOException {
        Path file = raw(fault.replace(' ', '_'), header.getBytes(StandardCharsets.UTF_8), header.length(), dataBytes);
        IOException e = assertThrows(IOException.class, () -> Safetensors.read(file));
        assertTrue(e.getMessage().startsWith(file.toString() + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(message), () -> "expected '" + message + "' in: " + e.getMessage());
    }

    @Test
    void truncatedFileIsReported() throws IOException, URISyntaxException {
        byte[] whole = Files.readAllBytes(golden("linear"));
        Path cut = dir.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(whole, whole.length - 100));
        IOException e = assertThrows(IOException.class, () -> Safetensors.read(cut));
        assertTrue(e.getMessage().matches(".*cut\\.safetensors: tensor '\\w+': data_offsets \\[\\d+, \\d+] run past"
                + " the data section of \\d+ bytes \\(file truncated\\?\\)"), e.getMessage());

        Path stub = dir.resolve("stub.safetensors");
        Files.write(stub, new byte[5]);
        IOException tooShort = assertThrows(IOException.class, () -> Safetensors.read(stub));
        assertEquals(stub + ": has 5 bytes, too few for the 8-byte header length", tooShort.getMessage());
    }

    @Test
    void impossibleHeaderLengthIsReported() throws IOException {
        byte[] header = "{}".getBytes(StandardCharsets.UTF_8);
        for (long length : new long[]{1L << 40, -8, 0, 3}) {
            Path file = raw("length" + length, header, length, 0);
            IOException e = assertThrows(IOException.class, () -> Safetensors.read(file));
            assertTrue(e.getMessage().startsWith(file + ": header length " + length + " is impossible for a file of 10 bytes"),
                    e.getMessage());
        }
        Path invalidUtf8 = raw("utf8", new byte[]{'{', (byte) 0xC3, '}', ' '}, 4, 0);
        IOException e = assertThrows(IOException.class, () -> Safetensors.read(invalidUtf8));
        assertEquals(invalidUtf8 + ": header is not valid UTF-8", e.getMessage());
    }

    @Test
    void headerNestedTenThousandDeepIsRefusedNamingTheFile() throws IOException {
        String header = "{\"w\":" + "[".repeat(10_000) + "]".repeat(10_000) + "}";
        Path file = raw("deep", header.getBytes(StandardCharsets.UTF_8), header.length(), 0);
        IOException e = assertThrows(IOException.class, () -> Safetensors.read(file));
        assertEquals(file + ": header: bad JSON at character 68: nested deeper than 64 levels", e.getMessage());
        assertEquals(e.getMessage(), assertThrows(IOException.class, () -> Safetensors.readMetadata(file)).getMessage());
    }

    @Test
    void shapeOverflowInTheTensorRecordIsAnIllegalArgument() {
        long big = 1L << 32;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Tensor("F32", new long[]{big, big, big}, new float[0], null));
        assertTrue(e.getMessage().contains("[4294967296, 4294967296, 4294967296] has more than"), e.getMessage());
    }

    @Test
    void emptyTensorMayHaveHugeOtherDimensions() throws IOException {
        String header = "{\"e\":{\"dtype\":\"F16\",\"shape\":[4611686018427387904,4611686018427387904,0],"
                + "\"data_offsets\":[0,0]}}";
        Path file = raw("empty", header.getBytes(StandardCharsets.UTF_8), header.length(), 0);
        Tensor e = Safetensors.read(file).tensors().get("e");
        assertEquals(0, e.elements());
        assertEquals(0, e.data().length);
    }

    @Test
    void hostileNamesStayOnOneLine() throws IOException {
        String header = "{\"a\\nb\":{\"dtype\":\"Q8\\r\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        Path file = raw("names", header.getBytes(StandardCharsets.UTF_8), header.length(), 8);
        IOException e = assertThrows(IOException.class, () -> Safetensors.read(file));
        assertEquals(file + ": tensor 'a\\u000ab': unknown dtype Q8\\u000d (supported: [F32, F16, I32, I64])",
                e.getMessage());
    }

    @Test
    void missingFileIsNamed() {
        Path file = dir.resolve("absent.safetensors");
        IOException e = assertThrows(IOException.class, () -> Safetensors.read(file));
        assertEquals(file + ": no such file", e.getMessage());
    }

    /** Writes an 8-byte {@code headerLength}, the header bytes and {@code dataBytes} zero bytes. */
    private Path raw(String name, byte[] header, long headerLength, int dataBytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLength).put(header);
        Path file = dir.resolve(name + ".safetensors");
        Files.write(file, b.array());
        return file;
    }

    private static long headerLength(Path file) throws IOException {
        try (var in = Files.newInputStream(file)) {
            return ByteBuffer.wrap(in.readNBytes(8)).order(ByteOrder.LITTLE_ENDIAN).getLong();
        }
    }

    static Path golden(String name) throws URISyntaxException {
        var url = SafetensorsTest.class.getResource("/golden/" + name + ".safetensors");
        if (url == null) throw new IllegalStateException("fixture " + name + " missing: run tools/golden/make_fixtures.py");
        return Path.of(url.toURI());
    }
}
