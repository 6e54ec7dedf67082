package dev.jmoco.nn;

import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tensor;

import java.util.List;
import java.util.SplittableRandom;

/**
 * An encoder's module tree (backbone and head) without parameters: the layout its arenas must have, its
 * seeded initialisation, and {@link #bind} to run it on one arena. The query and the key encoder of MoCo are
 * two bindings of one architecture. Made by {@link Encoders#create}.
 */
public final class Architecture {
    private final String id;
    private final Module backbone, head;
    private final int inChannels, featureDim, outputDim;
    private final ParameterLayout layout;

    Architecture(String id, Module backbone, Module head, int inChannels, int featureDim, int outputDim,
                 DecayPolicy decay) {
        this.id = id;
        this.backbone = backbone;
        this.head = head;
        this.inChannels = inChannels;
        this.featureDim = featureDim;
        this.outputDim = outputDim;
        this.layout = new ParameterLayout(decay);
        backbone.register(layout);
        head.register(layout);
    }

    /** Names the architecture exactly (e.g. "resnet18-cifar-c3-v2-d128"); checkpoints record and compare it. */
    public String id() { return id; }

    /** Channels of the input images. */
    public int inChannels() { return inChannels; }

    /** Width of the backbone's pooled features (what kNN and the linear probe use). */
    public int featureDim() { return featureDim; }

    /** Width of the head's output. */
    public int outputDim() { return outputDim; }

    /** Parameters and state with torchvision names, kinds and shapes, in state_dict order. */
    public List<ParameterLayout.Spec> parameters() { return layout.specs(); }

    /** Number of trainable floats (torchvision's sum of p.numel() over parameters()). */
    public long parameterCount() { return layout.parameterCount(); }

    /** A builder for arenas of this architecture; build one trainable (query) and one not (key). */
    public ParameterArena.Builder arenaLayout() { return layout.builder(); }

    /**
     * Writes torchvision's initial values into {@code arena}: convolutions kaiming-normal (fan_out, relu),
     * batch norm weight 1 and bias 0 with running statistics 0 and 1, linear layers as torch.nn.Linear. Equal
     * seeds give equal arenas.
     */
    public void initialize(ParameterArena arena, long seed) {
        layout.requireMatches(arena, "initialize " + id);
        SplittableRandom random = new SplittableRandom(seed);
        backbone.initialize(arena, random);
        head.initialize(arena, random);
    }

    /**
     * This architecture running on {@code arena}'s parameters.
     *
     * @throws IllegalArgumentException if the arena's layout is another architecture's
     */
    public Encoder bind(ParameterArena arena) {
        layout.requireMatches(arena, "bind " + id);
        return new Encoder(this, arena);
    }

    /**
     * Training-mode forward of {@code images} with the weights in {@code arena}, batch norm taking statistics
     * per group of the batch ({@code bnGroups} groups): the architecture as a contrastive step applies it to
     * f_q's and f_k's arenas alike.
     */
    public Tensor trainingForward(ParameterArena arena, Tensor images, int bnGroups) {
        return bind(arena).forward(images, Mode.train(bnGroups));
    }

    Module backbone() { return backbone; }

    Module head() { return head; }

    @Override
    public String toString() { return id + " (" + parameterCount() + " parameters)"; }
}
