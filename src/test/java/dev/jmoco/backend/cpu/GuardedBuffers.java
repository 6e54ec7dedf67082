package dev.jmoco.backend.cpu;

import dev.jmoco.backend.Buffer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Test buffers for the CPU kernel tests: each is a view at a non-zero offset inside a larger root whose
 * margins hold a sentinel, so a kernel that ignores a view's offset reads wrong data, and one that writes past
 * either end is caught by {@link #assertGuardsIntact}. Closing this closes the backend.
 */
final class GuardedBuffers implements AutoCloseable {
    private static final int GUARD = 5;
    private static final float SENTINEL = -12345.5f;

    final CpuBackend backend;
    private final List<Buffer> roots = new ArrayList<>();

    /** Buffers on a backend with {@code threads} threads (more than the cores is fine: it forces splits). */
    GuardedBuffers(int threads) { backend = new CpuBackend(threads); }

    /** The same with oneDNN's convolutions where it loads ({@code oneDnn} true) or the Java ones. */
    GuardedBuffers(int threads, boolean oneDnn) { backend = new CpuBackend(threads, oneDnn); }

    /** A guarded view holding a copy of {@code values}. */
    Buffer of(float[] values) {
        Buffer root = backend.allocate(values.length + 2L * GUARD);
        backend.fill(root, SENTINEL);
        roots.add(root);
        Buffer view = root.slice(GUARD, values.length);
        backend.upload(values, 0, view);
        return view;
    }

    /** The contents of {@code buffer}. */
    float[] read(Buffer buffer) {
        float[] out = new float[(int) buffer.size()];
        backend.download(buffer, out, 0);
        return out;
    }

    /** Fails if any op wrote outside the views handed out. */
    void assertGuardsIntact() {
        for (Buffer root : roots) {
            float[] all = read(root);
            for (int i = 0; i < GUARD; i++) {
                assertEquals(SENTINEL, all[i], "write before a view's start");
                assertEquals(SENTINEL, all[all.length - 1 - i], "write past a view's end");
            }
        }
    }

    /** n values uniform in [lo, hi). */
    static float[] uniform(Random random, int n, double lo, double hi) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (lo + (hi - lo) * random.nextDouble());
        return v;
    }

    @Override
    public void close() { backend.close(); }
}
