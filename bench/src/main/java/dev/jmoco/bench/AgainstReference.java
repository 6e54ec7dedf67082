package dev.jmoco.bench;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.reference.ReferenceOps;

import java.util.ArrayList;
import java.util.List;

/**
 * The set-up check of the op benchmarks: one op runs on the benchmark's backend from host inputs, and every
 * output element must agree within a stated tolerance with {@link ReferenceOps} on the same inputs before
 * anything is timed.
 */
final class AgainstReference {
    private AgainstReference() {}

    /** One op on one backend: inputs from {@code io}, outputs downloaded (several outputs concatenated). */
    interface Op {
        float[] run(Backend be, Io io);
    }

    /** Fresh buffers of one backend for a check; all closed when the check ends. */
    static final class Io implements AutoCloseable {
        private final Backend be;
        private final List<Buffer> owned = new ArrayList<>();

        private Io(Backend be) { this.be = be; }

        /** A buffer holding {@code host}. */
        Buffer of(float[] host) {
            Buffer b = be.allocate(host.length);
            owned.add(b);
            be.upload(host, 0, b);
            return b;
        }

        /** A buffer of {@code size} zeros. */
        Buffer zeros(long size) {
            Buffer b = be.allocate(size);
            owned.add(b);
            be.fill(b, 0);
            return b;
        }

        /** The contents of buffers, one after another. */
        float[] read(Buffer... buffers) {
            long total = 0;
            for (Buffer b : buffers) total += b.size();
            float[] out = new float[Math.toIntExact(total)];
            int at = 0;
            for (Buffer b : buffers) {
                be.download(b, out, at);
                at += (int) b.size();
            }
            return out;
        }

        @Override
        public void close() { owned.forEach(Buffer::close); }
    }

    /** Throws unless {@code op} on {@code backend} gives {@code want}: |got - want| <= abs + rel |want|. */
    static void check(String name, Backend backend, double abs, double rel, double[] want, Op op) {
        float[] got;
        try (Io io = new Io(backend)) {
            got = op.run(backend, io);
        }
        if (got.length != want.length)
            throw new IllegalStateException(name + ": " + got.length + " outputs, reference " + want.length);
        for (int i = 0; i < got.length; i++)
            if (!(Math.abs(got[i] - want[i]) <= abs + rel * Math.abs(want[i])))
                throw new IllegalStateException(name + " on " + backend.name() + ": output[" + i + "] = " + got[i]
                        + ", reference " + want[i] + " (tolerance " + abs + " + " + rel + " |reference|)");
    }

    /** Several reference outputs one after another, as {@link Io#read} concatenates a backend's. */
    static double[] concat(double[]... parts) {
        int total = 0;
        for (double[] p : parts) total += p.length;
        double[] out = new double[total];
        int at = 0;
        for (double[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
