package dev.jmoco.optim;

import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;

/**
 * SGD with momentum and weight decay over a {@link ParameterArena}, as PyTorch's torch.optim.SGD (dampening 0,
 * no Nesterov): d = g + wd p; v = momentum v + d; p -= lr v. The velocity lives in one arena-shaped buffer, so
 * a step is one {@link Backend#sgd} launch over the decayed parameters and one, without decay, over the rest.
 *
 * <p>Call order: backward fills the arena's gradients, {@link #step} updates, then the caller zeroes the
 * gradients ({@link ParameterArena#zeroGrad}) before the next backward.
 */
public final class Sgd implements AutoCloseable {
    private final ParameterArena arena;
    private final float momentum, weightDecay;
    private final Buffer velocity, decayedVelocity, exemptVelocity;
    private float learningRate;

    public Sgd(ParameterArena arena, float learningRate, float momentum, float weightDecay) {
        if (!arena.trainable()) throw new IllegalArgumentException("sgd: the arena has no gradients");
        if (!(learningRate >= 0) || !(momentum >= 0) || !(weightDecay >= 0))
            throw new IllegalArgumentException("sgd: lr " + learningRate + ", momentum " + momentum
                    + " and weight decay " + weightDecay + " must be >= 0");
        this.arena = arena;
        this.learningRate = learningRate;
        this.momentum = momentum;
        this.weightDecay = weightDecay;
        Backend b = arena.backend();
        velocity = b.allocate(arena.parameterSize());
        b.fill(velocity, 0f); // PyTorch starts the buffer at d; 0 * momentum + d is the same
        long decayed = arena.decayedSize();
        decayedVelocity = velocity.slice(0, decayed);
        exemptVelocity = velocity.slice(decayed, arena.parameterSize() - decayed);
    }

    /** One update of every parameter from the arena's gradients. */
    public void step() {
        Backend b = arena.backend();
        if (decayedVelocity.size() > 0)
            b.sgd(learningRate, momentum, weightDecay, arena.decayedData(), arena.decayedGrad(), decayedVelocity);
        if (exemptVelocity.size() > 0)
            b.sgd(learningRate, momentum, 0f, arena.exemptData(), arena.exemptGrad(), exemptVelocity);
    }

    public float learningRate() { return learningRate; }

    /** Sets the learning rate of the following steps (schedules call this once per step or epoch). */
    public void setLearningRate(float lr) {
        if (!(lr >= 0)) throw new IllegalArgumentException("sgd: learning rate must be >= 0, got " + lr);
        learningRate = lr;
    }

    /** The momentum buffer, laid out like the arena's data (for checkpoints). */
    public Buffer velocity() { return velocity; }

    @Override
    public void close() { velocity.close(); }
}
