package dev.jmoco.testing;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.function.Consumer;

/**
 * The contract every reader of untrusted input is fuzzed against: for any input it either returns a result
 * (which the test then checks for consistency) or throws the expected checked exception with a message of one
 * line that names the input; never another exception, never an Error (no OutOfMemoryError, no
 * StackOverflowError), never a hang ({@link #LIMIT} per case), and, where the caller gives a bound, no
 * allocation beyond it (a lying header must not make a small file cost gigabytes, even where the heap has them).
 */
public final class FuzzCase {
    /** Time one case may take; generous for a loaded machine, yet a hang fails the test within it. */
    public static final Duration LIMIT = Duration.ofSeconds(10);

    /** What a reader does with one input. */
    @FunctionalInterface
    public interface Reader<T> {
        T read() throws Exception;
    }

    /** Counts of a fuzz run: inputs read successfully and inputs refused with the expected exception. */
    public static final class Tally {
        private int accepted, refused;

        public int accepted() { return accepted; }

        public int refused() { return refused; }

        public int total() { return accepted + refused; }

        @Override public String toString() { return accepted + " accepted, " + refused + " refused"; }
    }

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();

    private FuzzCase() {}

    /** {@link #run(String, Reader, Class, String, Consumer, Tally, long)} without an allocation bound. */
    public static <T> void run(String name, Reader<T> reader, Class<? extends Exception> expected, String mustName,
                               Consumer<T> check, Tally tally) {
        run(name, reader, expected, mustName, check, tally, Long.MAX_VALUE);
    }

    /**
     * Runs {@code reader} on case {@code name}: a returned value goes to {@code check}; an exception must be an
     * {@code expected} whose message is one non-empty line containing {@code mustName}; either way the reader
     * may allocate at most {@code maxAllocated} bytes.
     */
    public static <T> void run(String name, Reader<T> reader, Class<? extends Exception> expected, String mustName,
                               Consumer<T> check, Tally tally, long maxAllocated) {
        Throwable thrown = null;
        T result = null;
        long[] allocated = new long[1];
        try {
            result = assertTimeoutPreemptively(LIMIT, () -> {
                long before = THREADS.getCurrentThreadAllocatedBytes();
                try {
                    return reader.read();
                } catch (Throwable t) {
                    throw new Thrown(t);
                } finally {
                    allocated[0] = THREADS.getCurrentThreadAllocatedBytes() - before;
                }
            }, () -> name + ": did not finish within " + LIMIT);
        } catch (Thrown t) {
            thrown = t.getCause();
        }
        if (allocated[0] > maxAllocated)
            fail(name + ": allocated " + allocated[0] + " bytes, more than the " + maxAllocated + " allowed", thrown);
        if (thrown == null) {
            check.accept(result);
            tally.accepted++;
            return;
        }
        if (!expected.isInstance(thrown))
            fail(name + ": threw " + thrown.getClass().getName() + " instead of " + expected.getSimpleName()
                    + " or a result: " + thrown.getMessage(), thrown);
        String m = thrown.getMessage();
        if (m == null || m.isBlank()) fail(name + ": " + thrown.getClass().getSimpleName() + " without a message", thrown);
        if (m.indexOf('\n') >= 0 || m.indexOf('\r') >= 0) fail(name + ": message of several lines: " + m, thrown);
        if (!m.contains(mustName)) fail(name + ": message does not name " + mustName + ": " + m, thrown);
        tally.refused++;
    }

    /** Carries whatever the reader threw, Errors included, out of the timed thread unchanged. */
    private static final class Thrown extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Thrown(Throwable cause) { super(null, cause, false, false); }
    }
}
