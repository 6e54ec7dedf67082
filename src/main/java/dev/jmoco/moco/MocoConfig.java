package dev.jmoco.moco;

/**
 * The settings of a contrastive training step. It has no defaults: a training run takes its values from the
 * settings table ({@code TrainConfig.mocoConfig}), and tests state theirs.
 *
 * @param mechanism    the dictionary mechanism
 * @param dim          the feature dimension (the encoder's output; C = 128 in the paper)
 * @param queueSize    K: keys in the MoCo queue, and negatives sampled per step by the memory bank
 * @param temperature  t of the InfoNCE logits (0.07 in v1, 0.2 in v2)
 * @param momentum     m of the key encoder's update theta_k = m theta_k + (1 - m) theta_q (MoCo only)
 * @param bnSplits     groups of the batch that batch norm takes statistics over (shuffle-BN emulation); the
 *                     batch size must be a multiple of it
 * @param symmetric    MoCo only: loss(q1, k2) + loss(q2, k1), as the CIFAR demo's {@code symmetric} option
 * @param bankSize     memory bank only: entries, one per dataset image (0 for the other mechanisms)
 * @param bankMomentum memory bank only: v = normalize(bankMomentum v + (1 - bankMomentum) q); 0.5 in Wu et al.
 * @param seed         seed of the queue or bank initialisation and of each step's random choices
 */
public record MocoConfig(Mechanism mechanism, int dim, int queueSize, float temperature, float momentum,
                         int bnSplits, boolean symmetric, int bankSize, float bankMomentum, long seed) {

    public MocoConfig {
        if (mechanism == null) throw new IllegalArgumentException("moco: mechanism is null");
        if (dim < 1) throw new IllegalArgumentException("moco: dim must be >= 1, got " + dim);
        if (queueSize < 1) throw new IllegalArgumentException("moco: queue size must be >= 1, got " + queueSize);
        // The temperature is checked where it enters (TrainConfig's table) and at the op set (Backend#infoNce).
        if (!(momentum >= 0 && momentum <= 1))
            throw new IllegalArgumentException("moco: momentum must be in [0, 1], got " + momentum);
        if (bnSplits < 1) throw new IllegalArgumentException("moco: bn splits must be >= 1, got " + bnSplits);
        if (symmetric && mechanism != Mechanism.MOCO)
            throw new IllegalArgumentException("moco: the symmetric loss applies to mechanism moco, not "
                    + mechanism.cliName());
        if (mechanism == Mechanism.MEMORY_BANK && bankSize < 1)
            throw new IllegalArgumentException("moco: the memory bank needs its size (the dataset size), got "
                    + bankSize);
        if (!(bankMomentum >= 0 && bankMomentum <= 1))
            throw new IllegalArgumentException("moco: bank momentum must be in [0, 1], got " + bankMomentum);
    }

    /** A builder with nothing set (numbers 0, mechanism null: {@link #build} refuses what stays unset). */
    public static Builder builder() { return new Builder(); }

    /** Collects settings; {@link #build} validates them. */
    public static final class Builder {
        private Mechanism mechanism;
        private int dim, queueSize, bnSplits, bankSize;
        private float temperature, momentum, bankMomentum;
        private boolean symmetric;
        private long seed;

        public Builder mechanism(Mechanism v) { mechanism = v; return this; }
        public Builder dim(int v) { dim = v; return this; }
        public Builder queueSize(int v) { queueSize = v; return this; }
        public Builder temperature(float v) { temperature = v; return this; }
        public Builder momentum(float v) { momentum = v; return this; }
        public Builder bnSplits(int v) { bnSplits = v; return this; }
        public Builder symmetric(boolean v) { symmetric = v; return this; }
        public Builder bankSize(int v) { bankSize = v; return this; }
        public Builder bankMomentum(float v) { bankMomentum = v; return this; }
        public Builder seed(long v) { seed = v; return this; }

        public MocoConfig build() {
            return new MocoConfig(mechanism, dim, queueSize, temperature, momentum, bnSplits, symmetric, bankSize,
                    bankMomentum, seed);
        }
    }
}
