package dev.jmoco.nn;

import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tensor;

import java.util.random.RandomGenerator;

/**
 * y = x W^T + b with {@code name}.weight [out, in] and {@code name}.bias [out], or y = x W^T without a bias
 * (torch.nn.Linear(bias=False), for a layer that batch norm follows: BN removes any constant). Initialised as
 * torch.nn.Linear: kaiming_uniform_(a = sqrt(5)) for the weight and the bias, which is U(-1/sqrt(in),
 * 1/sqrt(in)) for both.
 */
public final class Linear implements Module {
    private final String weight, bias;
    private final int in, out;

    public Linear(String name, int in, int out) { this(name, in, out, true); }

    public Linear(String name, int in, int out, boolean withBias) {
        if (in < 1 || out < 1) throw new IllegalArgumentException("linear " + name + ": in " + in + ", out " + out);
        this.weight = name + ".weight";
        this.bias = withBias ? name + ".bias" : null;
        this.in = in; this.out = out;
    }

    @Override
    public void register(ParameterLayout layout) {
        layout.parameter(weight, ParameterLayout.Role.WEIGHT, out, in);
        if (bias != null) layout.parameter(bias, ParameterLayout.Role.BIAS, out);
    }

    @Override
    public void initialize(ParameterArena arena, RandomGenerator random) {
        double bound = 1 / Math.sqrt(in);
        arena.load(weight, uniform(random, out * in, bound));
        if (bias != null) arena.load(bias, uniform(random, out, bound));
    }

    @Override
    public Tensor forward(ParameterArena arena, Tensor x, Mode mode) {
        return Ops.linear(x, arena.tensor(weight), bias == null ? null : arena.tensor(bias));
    }

    private static float[] uniform(RandomGenerator random, int n, double bound) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) random.nextDouble(-bound, bound);
        return v;
    }
}
