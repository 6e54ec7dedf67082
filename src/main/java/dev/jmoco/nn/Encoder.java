package dev.jmoco.nn;

import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.Checks;

import java.util.List;

/**
 * An {@link Architecture} bound to one parameter arena: f_q or f_k of MoCo, or a frozen backbone for
 * evaluation. Holds no tensors of its own; outputs belong to the current tape, as every op's.
 */
public final class Encoder {
    private final Architecture architecture;
    private final ParameterArena arena;

    Encoder(Architecture architecture, ParameterArena arena) {
        this.architecture = architecture;
        this.arena = arena;
    }

    /** Backbone features after global average pooling, [n, featureDim], from images [n, inChannels, h, w]. */
    public Tensor features(Tensor images, Mode mode) {
        if (images.rank() != 4 || images.dim(1) != architecture.inChannels())
            throw new IllegalArgumentException("encoder " + architecture.id() + ": images must be [n, "
                    + architecture.inChannels() + ", h, w], got " + Checks.shape(images.shape()));
        return architecture.backbone().forward(arena, images, mode);
    }

    /** The head applied to features [n, featureDim]: [n, outputDim], not normalised (MoCo normalises). */
    public Tensor project(Tensor features, Mode mode) { return architecture.head().forward(arena, features, mode); }

    /** project(features(images)). */
    public Tensor forward(Tensor images, Mode mode) { return project(features(images, mode), mode); }

    public Architecture architecture() { return architecture; }

    public ParameterArena arena() { return arena; }

    public String id() { return architecture.id(); }

    public int featureDim() { return architecture.featureDim(); }

    /** Parameter and state names with kinds and shapes, in state_dict order. */
    public List<ParameterLayout.Spec> parameters() { return architecture.parameters(); }
}
