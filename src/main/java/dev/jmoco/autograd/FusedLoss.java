package dev.jmoco.autograd;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;

/** What the fused losses share: their output, their place as roots, and handing over precomputed gradients. */
final class FusedLoss {
    private FusedLoss() {}

    /** A [1] loss value over a fresh [3] statistics buffer that it owns; adopted by the current tape. */
    static Loss newLoss(String op, Backend backend, boolean requiresGrad) {
        Buffer stats = backend.allocate(3);
        Tensor value = Tensor.owningSlice(stats, stats.slice(0, 1), 1).requiresGrad(requiresGrad);
        Tape.adopt(value);
        return new Loss(op, value, Tensor.wrap(stats, 3));
    }

    /**
     * Whether backward reached the loss; it must be a root, since its gradients were computed in forward for an
     * upstream gradient of exactly 1.
     */
    static boolean reached(Op op, Tape tape, Tensor value) {
        if (!value.hasGrad()) return false;
        if (!tape.isRoot(value))
            throw new IllegalStateException(op.name + ": a fused loss must be a root of backward(Tensor...)"
                    + " (its upstream gradient is fixed at 1)");
        return true;
    }

    /**
     * Gives {@code input} the precomputed gradient {@code g}: adopts the buffer when the input has no gradient
     * yet (no copy), adds it otherwise. Returns what the op still owns (null once adopted).
     */
    static Buffer handOver(Op op, Tensor input, Buffer g) {
        if (!input.requiresGrad()) return g;
        if (!input.hasGrad()) {
            input.setGrad(g, true);
            return null;
        }
        Buffer dx = op.gradOf(input);
        input.backend().add(1f, dx, 1f, g, dx);
        return g;
    }
}
