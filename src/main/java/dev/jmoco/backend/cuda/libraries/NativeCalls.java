package dev.jmoco.backend.cuda.libraries;

/**
 * {@link java.lang.invoke.MethodHandle#invokeExact} declares Throwable; a downcall itself throws nothing, so
 * what arrives here is an unchecked exception or error of the JVM (a wrong handle type is a programming error).
 */
final class NativeCalls {
    private NativeCalls() {}

    /** {@code t} itself when unchecked, else wrapped; for {@code throw NativeCalls.rethrow(t)}. */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException("native call failed", t);
    }
}
