package dev.jmoco.autograd;

import dev.jmoco.backend.Checks;

/** Shape checks shared by the ops; every message names the op and the shapes involved. */
final class Shapes {
    private Shapes() {}

    static String of(Tensor t) { return Checks.shape(t.shape()); }

    /** Throws unless {@code t} has {@code rank} dimensions; {@code layout} reads e.g. "[n, c, h, w]". */
    static void rank(String op, String arg, Tensor t, int rank, String layout) {
        if (t.rank() != rank)
            throw new IllegalArgumentException(op + ": " + arg + " must be " + rank + "-D " + layout + ", got "
                    + of(t));
    }

    /** Throws unless {@code a} and {@code b} have equal shapes. */
    static void same(String op, String argA, Tensor a, String argB, Tensor b) {
        if (!Tensor.sameShape(a, b))
            throw new IllegalArgumentException(op + ": " + argA + " " + of(a) + " and " + argB + " " + of(b)
                    + " differ in shape");
    }

    /** Throws unless {@code t} is a vector of {@code n} (a per-channel or per-feature parameter). */
    static void vector(String op, String arg, Tensor t, String owner, Tensor ownerTensor, int n, String what) {
        if (t.rank() != 1 || t.dim(0) != n)
            throw new IllegalArgumentException(op + ": " + owner + " " + of(ownerTensor) + " and " + arg + " " + of(t)
                    + " disagree on " + what + " (" + n + " vs " + (t.rank() == 1 ? t.dim(0) : of(t)) + ")");
    }
}
