package dev.jmoco.backend;

import java.util.Arrays;

/** Argument checks shared by all backends; messages name the op, the argument and both sizes. */
public final class Checks {
    private Checks() {}

    /** Throws unless {@code buffer} holds exactly {@code expected} floats. */
    public static void size(String op, String arg, Buffer buffer, long expected) {
        if (buffer == null) throw new IllegalArgumentException(op + ": " + arg + " is null");
        if (buffer.size() != expected)
            throw new IllegalArgumentException(op + ": " + arg + " has " + buffer.size() + " floats, expected "
                    + expected);
    }

    /** Throws unless both buffers belong to {@code backend}. */
    public static void owned(String op, Backend backend, Buffer... buffers) {
        for (Buffer b : buffers)
            if (b != null && b.backend() != backend)
                throw new IllegalArgumentException(op + ": buffer of backend " + b.backend().name()
                        + " passed to backend " + backend.name());
    }

    /** Pairs of (name, value): throws on the first value that is not positive. */
    public static void positive(String op, Object... nameValue) {
        for (int i = 0; i < nameValue.length; i += 2)
            if (((Number) nameValue[i + 1]).longValue() <= 0)
                throw new IllegalArgumentException(op + ": " + nameValue[i] + " must be > 0, got " + nameValue[i + 1]);
    }

    /** Throws unless {@code index} has {@code rows} entries, each in [0, limit). */
    public static void indices(String op, int[] index, int rows, long limit) {
        if (index.length != rows)
            throw new IllegalArgumentException(op + ": index has " + index.length + " entries, expected " + rows);
        for (int i = 0; i < index.length; i++)
            if (index[i] < 0 || index[i] >= limit)
                throw new IllegalArgumentException(op + ": index[" + i + "] = " + index[i] + " outside [0, " + limit + ")");
    }

    /** Formats a shape as [a, b, c]. */
    /** A view [offset, offset + size) must lie inside a buffer of {@code total} floats (Buffer#slice). */
    public static void slice(long offset, long size, long total) {
        if (offset < 0 || size < 0 || offset + size > total)
            throw new IndexOutOfBoundsException("slice [" + offset + ", " + (offset + size) + ") of a buffer of "
                    + total + " floats");
    }

    public static String shape(int... dims) { return Arrays.toString(dims); }
}
