package dev.jmoco.io;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes the safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a
 * UTF-8 JSON header {@code {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {string:
 * string}}} and the raw little-endian data, offsets counted from the end of the header. jmoco stores
 * checkpoints and its PyTorch golden fixtures in it, so files interchange with PyTorch without a converter.
 *
 * <p>Supported dtypes: F32 and F16 (read into {@code float[]}), I32 and I64 (read into {@code long[]}). Reading
 * validates everything a corrupt or foreign file could get wrong (header length against the file size, offsets
 * in range, contiguous and without overlap, known dtype, shape against byte count) and every error is an
 * {@link IOException} of one line that starts with the file, then names the tensor and what is wrong; no
 * content of a file makes the reader throw anything else, and what it allocates is bounded by the file's size
 * (F16 and I32 values take twice their file bytes once widened, the parsed header a few times its text). Writing is atomic: a temporary file in the target's folder is filled,
 * forced to disk and moved over the target, so a crash leaves the old file or the new one, never half of one.
 */
public final class Safetensors {
    /** Headers larger than this are refused as corrupt (the reference implementation's limit). */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    /** The most elements one tensor may have: the length of the largest Java array. */
    static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;
    private static final String METADATA = "__metadata__";
    /** Elements of a bad shape or offset list quoted at most in an error message. */
    private static final int SHOWN_ELEMENTS = 8;
    private static final int WRITE_CHUNK = 1 << 20;

    private Safetensors() {}

    /**
     * One tensor: its safetensors dtype, its shape and its values, in {@code data} for the float dtypes (F32,
     * F16) or in {@code ints} for the integer dtypes (I32, I64); the other array is null. Arrays are shared,
     * not copied (checkpoints are large); the shape is copied.
     */
    public record Tensor(String dtype, long[] shape, float[] data, long[] ints) {

        public Tensor {
            DType type = DType.of(dtype);
            if (type == null) throw new IllegalArgumentException("unknown dtype " + dtype);
            shape = shape.clone();
            long count = elementCount(shape);
            if (type.isFloat() ? (data == null || ints != null) : (ints == null || data != null))
                throw new IllegalArgumentException("a " + dtype + " tensor holds its values in "
                        + (type.isFloat() ? "data" : "ints") + " only");
            int length = type.isFloat() ? data.length : ints.length;
            if (count != length)
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + count
                        + " values, got " + length);
        }

        /** An F32 tensor of {@code data} with {@code shape} (no dimensions: a scalar). */
        public static Tensor of(float[] data, long... shape) { return new Tensor("F32", shape, data, null); }

        /** An I64 tensor of {@code values} with {@code shape}. */
        public static Tensor ofLongs(long[] values, long... shape) { return new Tensor("I64", shape, null, values); }

        /** The number of elements (the product of the shape). */
        public long elements() { return elementCount(shape); }

        /** The integer values as {@code int}s (for index tensors); throws if a value does not fit. */
        public int[] toIntArray() {
            if (ints == null) throw new IllegalStateException("a " + dtype + " tensor holds no integers");
            int[] out = new int[ints.length];
            for (int i = 0; i < out.length; i++) out[i] = Math.toIntExact(ints[i]);
            return out;
        }

        private static long elementCount(long[] shape) {
            for (long d : shape)
                if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            long count = product(shape, Long.MAX_VALUE);
            if (count < 0)
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more than "
                        + Long.MAX_VALUE + " elements");
            return count;
        }
    }

    /** A file's tensors in header order and its {@code __metadata__} strings (empty when absent). */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {}

    /** The dtypes this reader knows, with their byte sizes. */
    private enum DType {
        F32(4), F16(2), I32(4), I64(8);

        final int bytes;

        DType(int bytes) { this.bytes = bytes; }

        boolean isFloat() { return this == F32 || this == F16; }

        static DType of(String name) {
            for (DType t : values()) if (t.name().equals(name)) return t;
            return null;
        }
    }

    /**
     * The product of non-negative {@code dims}, or -1 when it exceeds {@code limit}: 0 when any dimension is 0,
     * however large the others.
     */
    private static long product(long[] dims, long limit) {
        for (long d : dims) if (d == 0) return 0;
        long count = 1;
        for (long d : dims) {
            if (count > limit / d) return -1;
            count *= d;
        }
        return count;
    }

    /** A header entry before its data is read. */
    private record Entry(String name, DType type, long[] shape, long begin, long end) {}

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    // ---- reading ----------------------------------------------------------------------------------------

    /**
     * Reads a whole file.
     *
     * @throws IOException if the file cannot be read or is not valid safetensors (the message says where)
     */
    public static Contents read(Path file) throws IOException {
        return read(file, true);
    }

    /**
     * Reads only the header's metadata (the tensors' data is not touched): what a tool needs to learn how a
     * checkpoint was made without loading its weights.
     *
     * @throws IOException as {@link #read}
     */
    public static Map<String, String> readMetadata(Path file) throws IOException {
        return read(file, false).metadata();
    }

    private static Contents read(Path file, boolean withTensors) throws IOException {
        try {
            return readChecked(file, withTensors);
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": no such file", e);
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(file.toString())) throw e;
            throw new IOException(file + ": cannot read: " + oneLine(e), e);
        } catch (RuntimeException e) {
            // a safety net: the checks below are meant to leave no runtime exception for any file content
            throw new IOException(file + ": unreadable (" + oneLine(e) + ")", e);
        }
    }

    private static String oneLine(Exception e) {
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + Json.visible(e.getMessage()));
    }

    private static Contents readChecked(Path file, boolean withTensors) throws IOException {
        long size = Files.size(file);
        if (size < 8) throw corrupt(file, "has " + size + " bytes, too few for the 8-byte header length");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ); Arena arena = Arena.ofConfined()) {
            MemorySegment all = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long headerLength = all.get(I64_LE, 0);
            if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || headerLength > size - 8)
                throw corrupt(file, "header length " + headerLength + " is impossible for a file of " + size
                        + " bytes (it must be in [2, " + Math.min(MAX_HEADER_BYTES, size - 8) + "])");
            byte[] headerBytes = all.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
            Map<String, Object> header = parseHeader(file, headerBytes);
            long dataStart = 8 + headerLength;
            List<Entry> entries = new ArrayList<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Map.Entry<String, Object> e : header.entrySet()) {
                if (e.getKey().equals(METADATA)) metadata = metadata(file, e.getValue());
                else entries.add(entry(file, e.getKey(), e.getValue(), size - dataStart));
            }
            checkLayout(file, entries, size - dataStart);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            if (withTensors)
                for (Entry e : entries)
                    tensors.put(e.name(), load(all.asSlice(dataStart + e.begin(), e.end() - e.begin()), e));
            return new Contents(Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
        }
    }

    private static Map<String, Object> parseHeader(Path file, byte[] bytes) throws IOException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw corrupt(file, "header is not valid UTF-8");
        }
        Object parsed;
        try {
            parsed = Json.parse(text);
        } catch (IllegalArgumentException e) {
            throw corrupt(file, "header: " + e.getMessage());
        }
        if (!(parsed instanceof Map<?, ?> map)) throw corrupt(file, "header is not a JSON object");
        @SuppressWarnings("unchecked") Map<String, Object> header = (Map<String, Object>) map;
        return header;
    }

    private static Map<String, String> metadata(Path file, Object value) throws IOException {
        if (!(value instanceof Map<?, ?> map)) throw corrupt(file, METADATA + " is not a JSON object");
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            if (!(e.getValue() instanceof String s))
                throw corrupt(file, METADATA + " value of " + Json.excerpt((String) e.getKey()) + " is not a string");
            out.put((String) e.getKey(), s);
        }
        return out;
    }

    private static Entry entry(Path file, String name, Object value, long dataBytes) throws IOException {
        if (!(value instanceof Map<?, ?> info)) throw corrupt(file, name, "entry is not a JSON object");
        if (!(info.get("dtype") instanceof String dtypeName)) throw corrupt(file, name, "has no dtype string");
        DType type = DType.of(dtypeName);
        if (type == null)
            throw corrupt(file, name, "unknown dtype " + Json.visible(dtypeName) + " (supported: " + Arrays.toString(DType.values()) + ")");
        long[] shape = longs(file, name, "shape", info.get("shape"));
        long[] offsets = longs(file, name, "data_offsets", info.get("data_offsets"));
        if (offsets.length != 2) throw corrupt(file, name, "data_offsets must hold [begin, end]");
        long begin = offsets[0], end = offsets[1];
        if (begin > end) throw corrupt(file, name, "data_offsets [" + begin + ", " + end + "] end before they begin");
        if (end > dataBytes)
            throw corrupt(file, name, "data_offsets [" + begin + ", " + end + "] run past the data section of "
                    + dataBytes + " bytes (file truncated?)");
        long count = product(shape, MAX_ELEMENTS);
        if (count < 0)
            throw corrupt(file, name, "shape " + shown(shape) + " has more than " + MAX_ELEMENTS
                    + " elements, too many for a Java array");
        if (count * type.bytes != end - begin)  // count <= MAX_ELEMENTS: no overflow
            throw corrupt(file, name, "shape " + shown(shape) + " of " + type + " needs "
                    + count * type.bytes + " bytes but data_offsets [" + begin + ", " + end + "] hold " + (end - begin));
        return new Entry(name, type, shape, begin, end);
    }

    private static long[] longs(Path file, String name, String key, Object value) throws IOException {
        if (!(value instanceof List<?> list)) throw corrupt(file, name, key + " is not a JSON array");
        long[] out = new long[list.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(list.get(i) instanceof Long v) || v < 0)
                throw corrupt(file, name, key + " " + shown(list) + " must hold non-negative integers");
            out[i] = v;
        }
        return out;
    }

    /** The tensors must tile the data section exactly: no gap, no overlap, nothing left over. */
    private static void checkLayout(Path file, List<Entry> entries, long dataBytes) throws IOException {
        List<Entry> byOffset = new ArrayList<>(entries);
        byOffset.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long covered = 0;
        String previous = null;
        for (Entry e : byOffset) {
            if (e.begin() < covered)
                throw corrupt(file, e.name(), "data_offsets [" + e.begin() + ", " + e.end() + "] overlap tensor '"
                        + Json.visible(previous) + "' ending at " + covered);
            if (e.begin() > covered)
                throw corrupt(file, e.name(), "data_offsets [" + e.begin() + ", " + e.end() + "] leave a gap of "
                        + (e.begin() - covered) + " bytes after " + (previous == null ? "the header" : "tensor '" + Json.visible(previous) + "'"));
            covered = e.end();
            previous = e.name();
        }
        if (covered != dataBytes)
            throw corrupt(file, "data section has " + dataBytes + " bytes but its tensors cover " + covered);
    }

    private static Tensor load(MemorySegment bytes, Entry e) {
        int count = (int) (bytes.byteSize() / e.type().bytes);
        return switch (e.type()) {
            case F32 -> {
                float[] data = new float[count];
                MemorySegment.copy(bytes, F32_LE, 0, data, 0, count);
                yield new Tensor("F32", e.shape(), data, null);
            }
            case F16 -> {
                float[] data = new float[count];
                for (int i = 0; i < count; i++) data[i] = Float.float16ToFloat(bytes.getAtIndex(I16_LE, i));
                yield new Tensor("F16", e.shape(), data, null);
            }
            case I32 -> {
                long[] ints = new long[count];
                for (int i = 0; i < count; i++) ints[i] = bytes.getAtIndex(I32_LE, i);
                yield new Tensor("I32", e.shape(), null, ints);
            }
            case I64 -> {
                long[] ints = new long[count];
                MemorySegment.copy(bytes, I64_LE, 0, ints, 0, count);
                yield new Tensor("I64", e.shape(), null, ints);
            }
        };
    }

    // ---- writing ----------------------------------------------------------------------------------------

    /**
     * Writes {@code tensors} in map order, with {@code metadata} as {@code __metadata__} (omitted when empty),
     * atomically replacing {@code file}. F16 values are rounded to nearest; I32 values must fit in 32 bits.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        byte[] header = header(file, tensors, metadata);
        AtomicFiles.write(file.toAbsolutePath(), out -> {
            ByteBuffer buffer = ByteBuffer.allocate(WRITE_CHUNK).order(ByteOrder.LITTLE_ENDIAN);
            out.write(buffer.putLong(0, header.length).array(), 0, Long.BYTES);
            out.write(header);
            for (Tensor t : tensors.values()) writeData(out, buffer, t);
        });
    }

    /** The JSON header, padded with spaces to a multiple of 8 bytes so the data starts aligned. */
    private static byte[] header(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        StringBuilder json = new StringBuilder("{");
        if (!metadata.isEmpty()) {
            json.append(Json.quote(METADATA)).append(":{");
            String sep = "";
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                json.append(sep).append(Json.quote(e.getKey())).append(':').append(Json.quote(e.getValue()));
                sep = ",";
            }
            json.append('}');
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String name = e.getKey();
            if (name.isEmpty() || name.equals(METADATA))
                throw new IllegalArgumentException(file + ": tensor name '" + name + "' is reserved or empty");
            Tensor t = e.getValue();
            long bytes = t.elements() * DType.of(t.dtype()).bytes;
            if (json.length() > 1) json.append(',');
            json.append(Json.quote(name)).append(":{\"dtype\":").append(Json.quote(t.dtype())).append(",\"shape\":[");
            for (int i = 0; i < t.shape().length; i++) json.append(i == 0 ? "" : ",").append(t.shape()[i]);
            json.append("],\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
            offset += bytes;
        }
        byte[] bytes = json.append('}').toString().getBytes(StandardCharsets.UTF_8);
        int padded = (bytes.length + 7) / 8 * 8;  // counted in bytes: names may hold multi-byte characters
        byte[] out = Arrays.copyOf(bytes, padded);
        Arrays.fill(out, bytes.length, padded, (byte) ' ');
        return out;
    }

    private static void writeData(OutputStream out, ByteBuffer buffer, Tensor t) throws IOException {
        DType type = DType.of(t.dtype());
        int count = Math.toIntExact(t.elements());
        int perChunk = WRITE_CHUNK / type.bytes;
        for (int start = 0; start < count; start += perChunk) {
            int n = Math.min(count - start, perChunk);
            buffer.clear();
            switch (type) {
                case F32 -> buffer.asFloatBuffer().put(t.data(), start, n);
                case I64 -> buffer.asLongBuffer().put(t.ints(), start, n);
                case F16 -> { for (int i = 0; i < n; i++) buffer.putShort(i * 2, Float.floatToFloat16(t.data()[start + i])); }
                case I32 -> { for (int i = 0; i < n; i++) buffer.putInt(i * 4, Math.toIntExact(t.ints()[start + i])); }
            }
            out.write(buffer.array(), 0, n * type.bytes);
        }
    }

    private static IOException corrupt(Path file, String what) {
        return new IOException(file + ": " + what);
    }

    private static IOException corrupt(Path file, String tensor, String what) {
        return new IOException(file + ": tensor '" + Json.visible(tensor) + "': " + what);
    }

    /** A shape for a message, shortened when a hostile header makes it long. */
    private static String shown(long[] shape) {
        return Json.visible(Arrays.toString(shape));
    }

    /** A JSON array for a message: its numbers, the kind of anything else, at most a few elements. */
    private static String shown(List<?> list) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < list.size(); i++) {
            if (i == SHOWN_ELEMENTS) { b.append(", ... (").append(list.size()).append(" values)"); break; }
            Object v = list.get(i);
            b.append(i == 0 ? "" : ", ").append(switch (v) {
                case null -> "null";
                case Number n -> n.toString();
                case Boolean t -> t.toString();
                case String text -> Json.excerpt(text);
                case List<?> _ -> "an array";
                default -> "an object";
            });
        }
        return b.append(']').toString();
    }
}
