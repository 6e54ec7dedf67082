package dev.jmoco.nn;

/**
 * Which parameters SGD's weight decay applies to. Conv and linear weights always decay. The reference MoCo
 * code decays everything (it passes model.parameters() to SGD); the usual modern choice exempts batch-norm
 * parameters and biases, whose scale decay only distorts.
 */
public enum DecayPolicy {
    /** Batch-norm weight and bias and every bias are exempt (the default). */
    EXEMPT_NORM_AND_BIAS,
    /** Every parameter decays, as torch.optim.SGD(model.parameters(), weight_decay=...) in the MoCo code. */
    DECAY_ALL;

    /** Whether a parameter of this role takes weight decay. */
    public boolean decays(ParameterLayout.Role role) {
        return role == ParameterLayout.Role.WEIGHT || this == DECAY_ALL;
    }
}
