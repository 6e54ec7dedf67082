package dev.jmoco.train;

import dev.jmoco.io.AtomicFiles;
import dev.jmoco.io.Json;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Writes the JSON files of a run (checkpoint.json, summary.json, evaluation results) from maps of plain values:
 * Map (keys in order), List, int[], double[], Number, Boolean, String and null. NaN and infinities, which JSON
 * cannot hold, are written as null. Files are replaced atomically ({@link AtomicFiles}), as the checkpoints.
 */
final class JsonText {
    private JsonText() {}

    /** {@code value} as indented JSON text. */
    static String of(Object value) {
        StringBuilder b = new StringBuilder();
        append(b, value, "");
        return b.append('\n').toString();
    }

    /** Writes {@link #of} {@code value} to {@code file} atomically. */
    static void write(Path file, Object value) throws IOException {
        byte[] bytes = of(value).getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(file, out -> out.write(bytes));
    }

    private static void append(StringBuilder b, Object v, String indent) {
        switch (v) {
            case null -> b.append("null");
            case Map<?, ?> m -> {
                if (m.isEmpty()) { b.append("{}"); return; }
                String inner = indent + "  ";
                b.append("{\n");
                int i = 0;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    b.append(inner);
                    b.append(Json.quote(String.valueOf(e.getKey())));
                    b.append(": ");
                    append(b, e.getValue(), inner);
                    b.append(++i < m.size() ? ",\n" : "\n");
                }
                b.append(indent).append('}');
            }
            case List<?> l -> {
                b.append('[');
                for (int i = 0; i < l.size(); i++) {
                    if (i > 0) b.append(", ");
                    append(b, l.get(i), indent);
                }
                b.append(']');
            }
            case int[] a -> append(b, java.util.Arrays.stream(a).boxed().toList(), indent);
            case double[] a -> append(b, java.util.Arrays.stream(a).boxed().toList(), indent);
            case Double d -> b.append(Double.isFinite(d) ? d.toString() : "null");
            case Float f -> b.append(Float.isFinite(f) ? f.toString() : "null");
            case Number n -> b.append(n);
            case Boolean x -> b.append(x);
            default -> b.append(Json.quote(v.toString()));
        }
    }
}
