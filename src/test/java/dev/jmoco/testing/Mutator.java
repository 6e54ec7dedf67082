package dev.jmoco.testing;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Seeded mutations of valid files for the readers' fuzz tests: bit flips, bytes overwritten with boundary
 * values, truncation, insertions, deletions, header integers replaced with huge or negative values, and for
 * JSON text: broken tokens, deep nesting, long strings, bad escapes, duplicate keys. The same seed gives the
 * same mutants, and each mutant says how it was made, so a failing case can be replayed by its seed.
 */
public final class Mutator {
    /** A header integer of a binary format: where it is, its width (2, 4 or 8 bytes) and byte order. */
    public record Field(int offset, int width, ByteOrder order) {
        public static Field bigEndianShort(int offset) { return new Field(offset, 2, ByteOrder.BIG_ENDIAN); }

        public static Field bigEndianInt(int offset) { return new Field(offset, 4, ByteOrder.BIG_ENDIAN); }

        public static Field littleEndianLong(int offset) { return new Field(offset, 8, ByteOrder.LITTLE_ENDIAN); }
    }

    /** Mutated content and the mutations that made it, in order. */
    public record Mutant(byte[] bytes, String how) {}

    /** A mutated text and the mutations that made it, in order. */
    public record TextMutant(String text, String how) {}

    private static final byte[] BOUNDARY_BYTES = {0x00, (byte) 0xFF, 0x7F, (byte) 0x80, 0x01, (byte) 0xFE};
    private static final long[] BOUNDARY_INTS = {0, 1, -1, Integer.MAX_VALUE, Integer.MIN_VALUE,
        Integer.MAX_VALUE - 15, 1 << 16, 1 << 24, 0xFFFF, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 32, 1L << 40};
    private static final String[] NUMBERS = {"-1", "0", "-0", "1", "1e999", "-1e999", "1.5", "1e308", "2147483647",
        "2147483648", "4294967296", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "01",
        "1.", ".5", "1e", "--1", "0x10", "1e-999", "3037000500"};
    private static final String[] TOKENS = {"{", "}", "[", "]", ",", ":", "\"", "\\", "\\u12", "\\uZZZZ",
        "\\u+123", "\\x", "null", "true", "fals", "\u0000", "\n", "\r", "\t", "\ud800", "\u00e9", "\u2028",
        "\uffff", " ", "\"\":", "1e999", "-"};
    private static final String[] VALUES = {"[]", "{}", "[1,2]", "{\"a\":1}", "\"s\"", "null", "true", "-1",
        "1.0", "\"F32\"", "[0,0]", "[-1]"};
    private static final int[] DEPTHS = {63, 64, 65, 1000, 10_000};
    private static final Pattern NUMBER = Pattern.compile("-?\\d+(\\.\\d+)?([eE][+-]?\\d+)?");
    // possessive, so that a 100,000-character string does not recurse once per character
    private static final Pattern STRING = Pattern.compile("\"(?:[^\"\\\\]++|\\\\.)*+\"");

    private final SplittableRandom random;

    public Mutator(long seed) { this.random = new SplittableRandom(seed); }

    /** 1 to 3 random byte-level mutations of {@code seed}, some of them aimed at the given header fields. */
    public Mutant mutate(byte[] seed, List<Field> fields) {
        byte[] b = seed.clone();
        StringBuilder how = new StringBuilder();
        int n = 1 + random.nextInt(3);
        for (int i = 0; i < n; i++) {
            if (i > 0) how.append("; ");
            b = mutateOnce(b, fields, how);
        }
        return new Mutant(b, how.toString());
    }

    private byte[] mutateOnce(byte[] b, List<Field> fields, StringBuilder how) {
        int kind = random.nextInt(fields.isEmpty() ? 7 : 9);
        if (b.length == 0) kind = 3;
        switch (kind) {
            case 0 -> {
                int at = random.nextInt(b.length), bit = random.nextInt(8);
                b[at] ^= (byte) (1 << bit);
                how.append("flip bit ").append(bit).append(" of byte ").append(at);
            }
            case 1 -> {
                int at = random.nextInt(b.length);
                b[at] = BOUNDARY_BYTES[random.nextInt(BOUNDARY_BYTES.length)];
                how.append(String.format("byte %d = 0x%02x", at, b[at] & 0xFF));
            }
            case 2 -> {
                int at = random.nextInt(b.length);
                how.append("truncate to ").append(at);
                return java.util.Arrays.copyOf(b, at);
            }
            case 3 -> {
                int at = random.nextInt(b.length + 1), len = 1 + random.nextInt(16);
                byte[] ins = new byte[len];
                for (int i = 0; i < len; i++) ins[i] = (byte) random.nextInt(256);
                how.append("insert ").append(len).append(" random bytes at ").append(at);
                return splice(b, at, 0, ins);
            }
            case 4 -> {
                int at = random.nextInt(b.length), len = 1 + random.nextInt(Math.min(64, b.length - at));
                how.append("delete ").append(len).append(" bytes at ").append(at);
                return splice(b, at, len, new byte[0]);
            }
            case 5 -> {
                int at = random.nextInt(b.length), len = 1 + random.nextInt(Math.min(64, b.length - at));
                int to = random.nextInt(b.length + 1);
                how.append("repeat ").append(len).append(" bytes of ").append(at).append(" at ").append(to);
                return splice(b, to, 0, java.util.Arrays.copyOfRange(b, at, at + len));
            }
            case 6 -> {
                int at = random.nextInt(b.length);
                int len = Math.min(b.length - at, 1 + random.nextInt(8));
                byte v = BOUNDARY_BYTES[random.nextInt(BOUNDARY_BYTES.length)];
                java.util.Arrays.fill(b, at, at + len, v);
                how.append(String.format("%d bytes at %d = 0x%02x", len, at, v & 0xFF));
            }
            default -> {
                Field f = fields.get(random.nextInt(fields.size()));
                if (f.offset() + f.width() > b.length) { how.append("(field past the end)"); return b; }
                ByteBuffer buf = ByteBuffer.wrap(b).order(f.order());
                long old = switch (f.width()) {
                    case 2 -> buf.getShort(f.offset()) & 0xFFFF;
                    case 4 -> buf.getInt(f.offset());
                    default -> buf.getLong(f.offset());
                };
                long v = switch (random.nextInt(4)) {
                    case 0 -> old + 1;
                    case 1 -> old - 1;
                    case 2 -> random.nextLong();
                    default -> BOUNDARY_INTS[random.nextInt(BOUNDARY_INTS.length)];
                };
                switch (f.width()) {
                    case 2 -> buf.putShort(f.offset(), (short) v);
                    case 4 -> buf.putInt(f.offset(), (int) v);
                    default -> buf.putLong(f.offset(), v);
                }
                long written = f.width() == 2 ? v & 0xFFFF : f.width() == 4 ? (int) v : v;
                how.append("field at ").append(f.offset()).append(" = ").append(written);
            }
        }
        return b;
    }

    /** 1 to 3 random text-level mutations of JSON {@code seed}. */
    public TextMutant mutateJson(String seed) {
        String s = seed;
        StringBuilder how = new StringBuilder();
        int n = 1 + random.nextInt(3);
        for (int i = 0; i < n; i++) {
            if (i > 0) how.append("; ");
            s = mutateJsonOnce(s, how);
        }
        return new TextMutant(s, how.toString());
    }

    private String mutateJsonOnce(String s, StringBuilder how) {
        int at = random.nextInt(s.length() + 1);
        switch (random.nextInt(9)) {
            case 0 -> {
                List<int[]> numbers = matches(NUMBER, s);
                if (numbers.isEmpty()) return mutateJsonOnce(s, how);
                int[] m = numbers.get(random.nextInt(numbers.size()));
                String v = NUMBERS[random.nextInt(NUMBERS.length)];
                how.append("number at ").append(m[0]).append(" = ").append(v);
                return s.substring(0, m[0]) + v + s.substring(m[1]);
            }
            case 1 -> {
                String t = TOKENS[random.nextInt(TOKENS.length)];
                how.append("insert ").append(visible(t)).append(" at ").append(at);
                return s.substring(0, at) + t + s.substring(at);
            }
            case 2 -> {
                List<int[]> values = matches(random.nextBoolean() ? NUMBER : STRING, s);
                if (values.isEmpty()) return mutateJsonOnce(s, how);
                int[] m = values.get(random.nextInt(values.size()));
                String v = VALUES[random.nextInt(VALUES.length)];
                how.append("value at ").append(m[0]).append(" = ").append(v);
                return s.substring(0, m[0]) + v + s.substring(m[1]);
            }
            case 3 -> {
                int depth = DEPTHS[random.nextInt(DEPTHS.length)];
                boolean objects = random.nextBoolean(), balanced = random.nextBoolean();
                String open = objects ? "{\"k\":" : "[", close = objects ? "}" : "]";
                List<int[]> values = matches(NUMBER, s);
                how.append(balanced ? "nest a value " : "open ").append(depth).append(objects ? " objects" : " arrays");
                if (!balanced || values.isEmpty()) return s.substring(0, at) + open.repeat(depth) + s.substring(at);
                int[] m = values.get(random.nextInt(values.size()));
                return s.substring(0, m[0]) + open.repeat(depth) + s.substring(m[0], m[1]) + close.repeat(depth)
                        + s.substring(m[1]);
            }
            case 4 -> {
                List<int[]> strings = matches(STRING, s);
                if (strings.isEmpty()) return mutateJsonOnce(s, how);
                int[] m = strings.get(random.nextInt(strings.size()));
                int len = random.nextBoolean() ? 100_000 : 1 + random.nextInt(1000);
                how.append("string at ").append(m[0]).append(" of ").append(len).append(" characters");
                return s.substring(0, m[0]) + "\"" + "x".repeat(len) + "\"" + s.substring(m[1]);
            }
            case 5 -> {
                int brace = s.indexOf('{', random.nextInt(s.length() + 1));
                if (brace < 0) brace = s.indexOf('{');
                if (brace < 0) return mutateJsonOnce(s, how);
                how.append("duplicate key after ").append(brace);
                return s.substring(0, brace + 1) + "\"dup\":0,\"dup\":1," + s.substring(brace + 1);
            }
            case 6 -> {
                int len = Math.min(s.length() - Math.min(at, s.length()), 1 + random.nextInt(8));
                how.append("delete ").append(len).append(" characters at ").append(at);
                return s.substring(0, at) + s.substring(at + len);
            }
            case 7 -> {
                how.append("truncate to ").append(at);
                return s.substring(0, at);
            }
            default -> {
                if (s.isEmpty()) return mutateJsonOnce(s, how);
                int i = random.nextInt(s.length());
                char c = (char) random.nextInt(0x80);
                how.append("character ").append(i).append(" = U+").append(String.format("%04X", (int) c));
                return s.substring(0, i) + c + s.substring(i + 1);
            }
        }
    }

    private static List<int[]> matches(Pattern p, String s) {
        List<int[]> out = new ArrayList<>();
        Matcher m = p.matcher(s);
        while (m.find()) out.add(new int[] {m.start(), m.end()});
        return out;
    }

    private static String visible(String t) {
        StringBuilder b = new StringBuilder();
        for (char c : t.toCharArray()) b.append(c < 0x20 || c > 0x7e ? String.format("\\u%04x", (int) c) : c);
        return b.toString();
    }

    private static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
        byte[] out = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
        return out;
    }
}
