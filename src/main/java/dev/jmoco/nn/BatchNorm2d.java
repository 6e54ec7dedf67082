package dev.jmoco.nn;

import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tensor;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * Batch normalisation over channels, torch.nn.BatchNorm2d's defaults: momentum 0.1, eps 1e-5, affine, running
 * statistics kept as arena state ({@code name}.running_mean, {@code name}.running_var). torchvision's
 * num_batches_tracked is not kept: with a fixed momentum nothing reads it (a state dict written for PyTorch's
 * strict load_state_dict must add it, an int64 scalar). Weight 1 and bias 0 at start,
 * running mean 0 and variance 1. Training mode normalises with per-group batch statistics (see {@link Mode})
 * and updates the running statistics; eval mode uses them.
 */
public final class BatchNorm2d implements Module {
    /** Weight of the newest batch in the running statistics (torch's default). */
    public static final float MOMENTUM = 0.1f;
    /** Added to the variance before the square root (torch's default). */
    public static final float EPS = 1e-5f;

    private final String weight, bias, runningMean, runningVar;
    private final int channels;

    public BatchNorm2d(String name, int channels) {
        if (channels < 1) throw new IllegalArgumentException("batchNorm2d " + name + ": channels " + channels);
        this.weight = name + ".weight";
        this.bias = name + ".bias";
        this.runningMean = name + ".running_mean";
        this.runningVar = name + ".running_var";
        this.channels = channels;
    }

    @Override
    public void register(ParameterLayout layout) {
        layout.parameter(weight, ParameterLayout.Role.NORM, channels);
        layout.parameter(bias, ParameterLayout.Role.NORM, channels);
        layout.state(runningMean, channels);
        layout.state(runningVar, channels);
    }

    @Override
    public void initialize(ParameterArena arena, RandomGenerator random) {
        float[] ones = new float[channels];
        Arrays.fill(ones, 1f);
        arena.load(weight, ones);
        arena.load(bias, new float[channels]);
        arena.load(runningMean, new float[channels]);
        arena.load(runningVar, ones);
    }

    @Override
    public Tensor forward(ParameterArena arena, Tensor x, Mode mode) {
        Tensor g = arena.tensor(weight), b = arena.tensor(bias);
        Tensor m = arena.tensor(runningMean), v = arena.tensor(runningVar);
        return mode.training()
                ? Ops.batchNorm2d(x, g, b, m, v, mode.bnGroups(), MOMENTUM, EPS)
                : Ops.batchNorm2dEval(x, g, b, m, v, EPS);
    }
}
