package dev.jmoco.moco;

import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tensor;

import java.util.Arrays;
import java.util.Random;

/**
 * The tests' encoder, built directly from Ops (the nn package is not a dependency): conv1 3x3 (pad 1, no bias)
 * -> bn1 (per-group statistics, momentum 0.1, eps 1e-5) -> relu -> global average pool -> fc. The same
 * architecture as TinyEncoder in tools/golden/make_moco_fixtures.py.
 */
public final class TinyEncoder {
    private TinyEncoder() {}

    /** The arena layout: conv and fc weights take weight decay; BN parameters and the fc bias do not. */
    public static ParameterArena.Builder layout(int channels, int width, int dim) {
        return new ParameterArena.Builder()
                .parameter("conv1.weight", true, width, channels, 3, 3)
                .parameter("bn1.weight", false, width)
                .parameter("bn1.bias", false, width)
                .state("bn1.running_mean", width)
                .state("bn1.running_var", width)
                .parameter("fc.weight", true, dim, width)
                .parameter("fc.bias", false, dim);
    }

    /** The forward, as a {@link MocoEncoder}. */
    static Tensor forward(ParameterArena p, Tensor x, int bnGroups) {
        Tensor y = Ops.conv2d(x, p.tensor("conv1.weight"), 1, 1);
        y = Ops.batchNorm2d(y, p.tensor("bn1.weight"), p.tensor("bn1.bias"), p.tensor("bn1.running_mean"),
                p.tensor("bn1.running_var"), bnGroups, 0.1f, 1e-5f);
        y = Ops.globalAvgPool(Ops.relu(y));
        return Ops.linear(y, p.tensor("fc.weight"), p.tensor("fc.bias"));
    }

    /** Seeded small weights, BN gamma near 1, running variance 1 (PyTorch's initial BN state). */
    static void initialise(ParameterArena p, Random r) {
        for (ParameterArena.Entry e : p.entries()) {
            float[] v = new float[(int) e.size()];
            boolean ones = e.name().equals("bn1.weight") || e.name().equals("bn1.running_var");
            boolean zeros = e.name().equals("bn1.running_mean");
            for (int i = 0; i < v.length; i++)
                v[i] = ones ? 1f : zeros ? 0f : (float) (0.6 * r.nextDouble() - 0.3);
            p.load(e.name(), v);
        }
    }

    static float[] ones(int n) {
        float[] v = new float[n];
        Arrays.fill(v, 1f);
        return v;
    }
}
