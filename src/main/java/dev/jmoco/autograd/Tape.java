package dev.jmoco.autograd;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Checks;
import dev.jmoco.trace.Trace;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * A scope that owns every tensor the ops create while it is open and, when it records, the list of ops needed
 * to run backward (after DJL's GradientCollector). One tape is current per thread; tapes nest and must be
 * closed in reverse order of opening (try-with-resources does this).
 *
 * <pre>{@code
 * try (Tape tape = Tape.record()) {
 *     Loss loss = Ops.infoNce(q, k, queue, 0.07f);
 *     tape.backward(loss.value());
 * }   // activations, their gradients and saved statistics go back to the backend pool
 * }</pre>
 *
 * An op is recorded only when the current tape records and one of its inputs requires a gradient (so the key
 * encoder of MoCo, whose parameters do not, runs untaped inside the same scope). The recording order is a
 * topological order, so backward walks it in reverse. Leaves (parameters, inputs) are not owned by the tape.
 * Outside any tape, ops record nothing and their outputs belong to the caller.
 */
public final class Tape implements AutoCloseable {
    private static final ThreadLocal<Tape> CURRENT = new ThreadLocal<>();

    private final Tape previous;
    private final boolean recording;
    private final List<Op> ops = new ArrayList<>();
    private final List<Tensor> owned = new ArrayList<>();
    private final Set<Tensor> roots = Collections.newSetFromMap(new IdentityHashMap<>()); // seeded with 1
    private boolean backwardDone;
    private boolean closed;

    private Tape(boolean recording) {
        this.recording = recording;
        this.previous = CURRENT.get();
        CURRENT.set(this);
    }

    /** Opens a tape that records ops for backward. */
    public static Tape record() { return new Tape(true); }

    /** Opens a scope that owns the tensors created in it but records nothing (inference, no-grad). */
    public static Tape noGrad() { return new Tape(false); }

    /**
     * Computes {@code f} in a nested no-grad scope and returns a copy of its result owned by the enclosing scope
     * (or by the caller, outside any scope). Every intermediate tensor {@code f} creates goes back to the pool
     * on return, instead of living until the enclosing tape closes: MoCo's key encoder runs this way, so its
     * activations are never alive beside the query encoder's.
     */
    public static Tensor detached(Supplier<Tensor> f) {
        Tensor copy = null;
        try (Tape scope = noGrad()) {
            Tensor result = f.get();
            copy = Tensor.allocate(result.backend(), result.shape());
            result.backend().copy(result.data(), copy.data());
        } catch (RuntimeException | Error e) {
            if (copy != null) copy.close();
            throw e;
        }
        return adopt(copy);
    }

    /** Whether this tape records ops. */
    public boolean recording() { return recording; }

    /** Number of ops recorded so far. */
    public int size() { return ops.size(); }

    /**
     * Back-propagates from scalar roots (each gets the gradient 1). Fused losses must be roots: they computed
     * their input gradients in forward for an upstream gradient of 1.
     */
    public void backward(Tensor... losses) {
        for (Tensor loss : losses)
            if (loss.size() != 1)
                throw new IllegalArgumentException("backward: a root without explicit gradient must be a scalar, got "
                        + Checks.shape(loss.shape()));
        startBackward();
        for (Tensor loss : losses) {
            roots.add(loss);
            loss.backend().fill(loss.ensureGrad(), 1f);
        }
        walk();
    }

    /**
     * Back-propagates a given gradient of {@code output} (a vector-Jacobian product; gradient checks use it).
     * Not for fused losses, whose upstream gradient is fixed at 1: pass those to {@link #backward(Tensor...)}.
     * (Named apart from it: as an overload, {@code backward(loss1, loss2)} of two losses would silently mean
     * this.)
     *
     * @throws IllegalArgumentException if {@code gradient}'s shape differs from {@code output}'s
     */
    public void backwardWith(Tensor output, Tensor gradient) {
        if (!Tensor.sameShape(output, gradient))
            throw new IllegalArgumentException("backward: gradient " + Checks.shape(gradient.shape())
                    + " does not match tensor " + Checks.shape(output.shape()));
        startBackward();
        Backend b = output.backend();
        b.copy(gradient.data(), output.ensureGrad());
        walk();
    }

    /** Whether {@code t} is a root of the running backward pass with the gradient 1. */
    boolean isRoot(Tensor t) { return roots.contains(t); }

    /** Releases saved contexts, activations and their gradients, and makes the enclosing tape current again. */
    @Override
    public void close() {
        if (closed) return;
        if (CURRENT.get() != this)
            throw new IllegalStateException("tapes must be closed in reverse order of opening");
        closed = true;
        for (int i = ops.size() - 1; i >= 0; i--) ops.get(i).release();
        for (Tensor t : owned) t.close();
        ops.clear();
        owned.clear();
        if (previous == null) CURRENT.remove();
        else CURRENT.set(previous);
    }

    // ---- used by ops ----------------------------------------------------------------------------------------

    /** Whether an op on these inputs is recorded now (a recording tape is current and an input needs a gradient). */
    static boolean recordsFor(Tensor... inputs) {
        Tape t = CURRENT.get();
        if (t == null || !t.recording) return false;
        for (Tensor x : inputs)
            if (x != null && x.requiresGrad()) return true;
        return false;
    }

    /** A new op output, owned by the current tape if there is one (by the caller otherwise). */
    static Tensor output(Backend backend, boolean requiresGrad, int... shape) {
        return adopt(Tensor.allocate(backend, shape).requiresGrad(requiresGrad));
    }

    /** Hands {@code t} to the current tape, if any; returns it. */
    static Tensor adopt(Tensor t) {
        Tape tape = CURRENT.get();
        if (tape != null) tape.owned.add(t);
        return t;
    }

    /**
     * Runs an op's forward; then records the op on the current tape when {@code record}, or releases its saved
     * context at once. If the forward throws, the saved context is released before the exception propagates.
     */
    static void run(Op op, boolean record, Runnable forward) {
        try (Trace.Scope slice = Trace.scope(op.name, "forward")) {
            forward.run();
            if (slice.recording()) slice.work(op.work(false)); // no counting on untraced steps
        } catch (RuntimeException | Error e) {
            op.release();
            throw e;
        }
        if (record) CURRENT.get().ops.add(op);
        else op.release();
    }

    private void startBackward() {
        if (closed) throw new IllegalStateException("backward: tape is closed");
        if (!recording) throw new IllegalStateException("backward: a noGrad tape records no ops");
        if (backwardDone)
            throw new IllegalStateException("backward: already run on this tape (gradients would add twice)");
        backwardDone = true;
    }

    /**
     * Runs each op's backward in reverse recording order. Right after an op's backward, its saved context and
     * its output's gradient are dead (all consumers came later in the recording, so they already ran): both go
     * back to the pool at once, which keeps the peak memory of backward near that of the activations alone.
     */
    private void walk() {
        for (int i = ops.size() - 1; i >= 0; i--) {
            Op op = ops.get(i);
            try (Trace.Scope slice = Trace.scope(op.name, "backward")) {
                op.backward(this);
                if (slice.recording()) slice.work(op.work(true));
            }
            op.release();
            op.releaseConsumedGradient();
        }
    }
}
