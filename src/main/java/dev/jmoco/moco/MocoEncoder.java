package dev.jmoco.moco;

import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tensor;

/**
 * An encoder as a MoCo step sees it: an architecture applied to the weights in an arena. The query and key
 * encoders are one {@code MocoEncoder} over two arenas of the same layout (f_q's trainable, f_k's not), so
 * the momentum update is one launch over the arenas' data.
 */
@FunctionalInterface
public interface MocoEncoder {

    /**
     * Training-mode forward of {@code images} [n, ...] with the weights in {@code params}, batch norm taking
     * its statistics per group of the batch ({@code bnGroups} groups, sample i in group i mod bnGroups; 1 is
     * plain BN) and updating the running statistics in {@code params}. Returns the features [n, dim], not
     * normalised. Inside a recording tape, ops on a trainable arena are recorded; on f_k's they are not.
     */
    Tensor forward(ParameterArena params, Tensor images, int bnGroups);
}
