package dev.jmoco.trace;

import java.util.ArrayList;
import java.util.List;

/**
 * Named, nested slices of wall time recorded on one thread while a trace is on. With no trace on, opening a
 * slice costs a thread-local read and returns a shared no-op, so the hooks stay in the engine.
 *
 * <p>Devices that queue work (OpenCL, CUDA) would charge a kernel to whichever slice waits for it; a trace
 * started with a synchronising action runs it at each slice boundary, so each slice holds the device time of
 * the work it queued (as PyTorch's profiler with synchronisation, and slower than an unprofiled step).
 *
 * <pre>{@code
 * try (Trace trace = Trace.start(backend::synchronize)) {
 *     trainer.step();
 *     trace.slices();   // one per op, phase and module, in the order they ended
 * }
 * }</pre>
 */
public final class Trace implements AutoCloseable {
    private static final ThreadLocal<Trace> CURRENT = new ThreadLocal<>();
    private static final Scope NONE = new Scope() {
        @Override public void work(Work w) {}
        @Override public boolean recording() { return false; }
        @Override public void close() {}
    };

    /**
     * One finished slice.
     *
     * @param name     what ran: an op ("conv2d"), a phase ("key encoder forward"), a module ("ResidualBlock")
     * @param category "forward", "backward", "phase", "module", "update", "transfer", "step", or "staging": the
     *                 time an op spends moving its operands between memories and layouts (inside the op's slice;
     *                 a profile reports it as a row of its own and takes it off the op's)
     * @param start    nanoseconds since the trace started
     * @param duration nanoseconds
     * @param depth    how many slices enclose it
     * @param parent   index in {@link #slices()} of the slice that encloses it, or -1
     * @param work     hand-counted work of the slice itself (NONE when not counted)
     */
    public record Slice(String name, String category, long start, long duration, int depth, int parent, Work work) {}

    /** An open slice; closing it records it. */
    public interface Scope extends AutoCloseable {
        /** Sets the work this slice did. */
        void work(Work w);

        /** Whether this slice is recorded (so that counting its work is worth doing). */
        default boolean recording() { return true; }

        @Override void close();
    }

    private final Runnable synchronize;
    private final long origin = System.nanoTime();
    private final List<Slice> slices = new ArrayList<>();
    private final List<Open> open = new ArrayList<>();

    private Trace(Runnable synchronize) { this.synchronize = synchronize; }

    /**
     * Starts recording on this thread (one trace per thread at a time).
     *
     * @param synchronize run at every slice boundary (a device's synchronize), or null for synchronous devices
     */
    public static Trace start(Runnable synchronize) {
        if (CURRENT.get() != null) throw new IllegalStateException("a trace is already recording on this thread");
        Trace t = new Trace(synchronize);
        CURRENT.set(t);
        return t;
    }

    /** Opens a slice on this thread's trace, or nothing when none records. */
    public static Scope scope(String name, String category) {
        Trace t = CURRENT.get();
        return t == null ? NONE : t.open(name, category);
    }

    /** Whether a trace records on this thread (to skip work that only a trace needs). */
    public static boolean active() { return CURRENT.get() != null; }

    /** The finished slices, in the order they ended (children before their parent). */
    public List<Slice> slices() { return List.copyOf(slices); }

    /** Nanoseconds since the trace started. */
    public long now() { return System.nanoTime() - origin; }

    private Open open(String name, String category) {
        if (synchronize != null) synchronize.run();
        Open o = new Open(name, category, now(), open.size());
        open.add(o);
        return o;
    }

    /** Stops recording on this thread; slices still open are dropped. */
    @Override
    public void close() {
        if (CURRENT.get() == this) CURRENT.remove();
    }

    private final class Open implements Scope {
        private final String name, category;
        private final long start;
        private final int depth;
        private final List<Integer> children = new ArrayList<>();
        private Work work = Work.NONE;
        private boolean closed;

        Open(String name, String category, long start, int depth) {
            this.name = name;
            this.category = category;
            this.start = start;
            this.depth = depth;
        }

        @Override public void work(Work w) { work = w; }

        @Override
        public void close() {
            if (closed || CURRENT.get() != Trace.this) return;
            closed = true;
            if (synchronize != null) synchronize.run();
            long end = now();
            open.remove(this); // the last one: scopes are try-with-resources, so they close in stack order
            int index = slices.size();
            slices.add(null);
            for (int c : children) {
                Slice s = slices.get(c);
                slices.set(c, new Slice(s.name(), s.category(), s.start(), s.duration(), s.depth(), index, s.work()));
            }
            slices.set(index, new Slice(name, category, start, end - start, depth, -1, work));
            if (!open.isEmpty()) open.getLast().children.add(index);
        }
    }
}
