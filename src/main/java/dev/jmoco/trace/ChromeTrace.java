package dev.jmoco.trace;

import dev.jmoco.io.AtomicFiles;
import dev.jmoco.io.Json;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Slices as a Chrome Trace Event file ({"traceEvents": [...]}, complete events "ph":"X" in microseconds on one
 * thread, so nesting follows from the times), which ui.perfetto.dev and chrome://tracing open. Each event's
 * args hold the slice's hand-counted GFLOP and MB when it has them.
 */
public final class ChromeTrace {
    private ChromeTrace() {}

    /** Writes {@code slices} to {@code file}, times relative to the first slice's start. */
    public static void write(Path file, List<Trace.Slice> slices) throws IOException {
        long origin = slices.stream().mapToLong(Trace.Slice::start).min().orElse(0);
        StringBuilder b = new StringBuilder("{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n");
        for (int i = 0; i < slices.size(); i++) {
            Trace.Slice s = slices.get(i);
            b.append(String.format(Locale.ROOT, "  {\"name\": %s, \"cat\": %s, \"ph\": \"X\", \"ts\": %.3f, "
                            + "\"dur\": %.3f, \"pid\": 1, \"tid\": 1", Json.quote(s.name()), Json.quote(s.category()),
                    (s.start() - origin) / 1e3, s.duration() / 1e3));
            if (s.work().flops() > 0 || s.work().bytes() > 0)
                b.append(String.format(Locale.ROOT, ", \"args\": {\"GFLOP\": %.6f, \"MB\": %.6f}",
                        s.work().flops() / 1e9, s.work().bytes() / 1e6));
            b.append(i + 1 < slices.size() ? "},\n" : "}\n");
        }
        byte[] bytes = b.append("]}\n").toString().getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(file, out -> out.write(bytes));
    }
}
