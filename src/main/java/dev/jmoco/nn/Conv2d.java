package dev.jmoco.nn;

import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tensor;

import java.util.random.RandomGenerator;

/**
 * A square convolution without bias ({@code name}.weight [out, in, k, k]), as every convolution of ResNet
 * (bias=False; the batch norm after it makes a bias redundant). Initialised as torchvision's ResNet does:
 * kaiming_normal_(mode='fan_out', nonlinearity='relu'), i.e. N(0, 2 / (out k k)).
 */
public final class Conv2d implements Module {
    private final String weight;
    private final int in, out, kernel, stride, pad;

    public Conv2d(String name, int in, int out, int kernel, int stride, int pad) {
        if (in < 1 || out < 1 || kernel < 1 || stride < 1 || pad < 0)
            throw new IllegalArgumentException("conv2d " + name + ": in " + in + ", out " + out + ", kernel "
                    + kernel + ", stride " + stride + ", pad " + pad + " out of range");
        this.weight = name + ".weight";
        this.in = in; this.out = out; this.kernel = kernel; this.stride = stride; this.pad = pad;
    }

    @Override
    public void register(ParameterLayout layout) {
        layout.parameter(weight, ParameterLayout.Role.WEIGHT, out, in, kernel, kernel);
    }

    @Override
    public void initialize(ParameterArena arena, RandomGenerator random) {
        double std = Math.sqrt(2.0 / (out * kernel * kernel));
        float[] w = new float[out * in * kernel * kernel];
        for (int i = 0; i < w.length; i++) w[i] = (float) (random.nextGaussian() * std);
        arena.load(weight, w);
    }

    @Override
    public Tensor forward(ParameterArena arena, Tensor x, Mode mode) {
        return Ops.conv2d(x, arena.tensor(weight), stride, pad);
    }
}
