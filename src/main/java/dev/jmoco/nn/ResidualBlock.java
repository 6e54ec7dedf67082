package dev.jmoco.nn;

import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tensor;

import java.util.random.RandomGenerator;

/**
 * relu(body(x) + shortcut(x)), the unit of ResNet, with torchvision's names and v1.5 layout (the stride sits on
 * the 3x3 convolution). The shortcut is the identity, or {@code prefix}.downsample = 1x1 conv (stride) + batch
 * norm when the block changes resolution or width. Built by {@link #basic} or {@link #bottleneck}.
 *
 * @param shortcut the downsample branch, or null for the identity
 */
public record ResidualBlock(Sequential body, Sequential shortcut) implements Module {
    /** Output width over {@code planes} of a BasicBlock. */
    public static final int BASIC_EXPANSION = 1;
    /** Output width over {@code planes} of a Bottleneck. */
    public static final int BOTTLENECK_EXPANSION = 4;

    /** torchvision's BasicBlock: conv3x3(stride)-bn-relu-conv3x3-bn, output {@code planes} channels. */
    public static ResidualBlock basic(String prefix, int in, int planes, int stride) {
        Sequential body = new Sequential(
                new Conv2d(prefix + ".conv1", in, planes, 3, stride, 1), new BatchNorm2d(prefix + ".bn1", planes),
                new Relu(),
                new Conv2d(prefix + ".conv2", planes, planes, 3, 1, 1), new BatchNorm2d(prefix + ".bn2", planes));
        return new ResidualBlock(body, shortcut(prefix, in, planes * BASIC_EXPANSION, stride));
    }

    /** torchvision's Bottleneck (v1.5): conv1x1-bn-relu-conv3x3(stride)-bn-relu-conv1x1-bn, 4 planes out. */
    public static ResidualBlock bottleneck(String prefix, int in, int planes, int stride) {
        int out = planes * BOTTLENECK_EXPANSION;
        Sequential body = new Sequential(
                new Conv2d(prefix + ".conv1", in, planes, 1, 1, 0), new BatchNorm2d(prefix + ".bn1", planes),
                new Relu(),
                new Conv2d(prefix + ".conv2", planes, planes, 3, stride, 1), new BatchNorm2d(prefix + ".bn2", planes),
                new Relu(),
                new Conv2d(prefix + ".conv3", planes, out, 1, 1, 0), new BatchNorm2d(prefix + ".bn3", out));
        return new ResidualBlock(body, shortcut(prefix, in, out, stride));
    }

    private static Sequential shortcut(String prefix, int in, int out, int stride) {
        if (stride == 1 && in == out) return null;
        return new Sequential(new Conv2d(prefix + ".downsample.0", in, out, 1, stride, 0),
                new BatchNorm2d(prefix + ".downsample.1", out));
    }

    @Override
    public void register(ParameterLayout layout) {
        body.register(layout);
        if (shortcut != null) shortcut.register(layout);
    }

    @Override
    public void initialize(ParameterArena arena, RandomGenerator random) {
        body.initialize(arena, random);
        if (shortcut != null) shortcut.initialize(arena, random);
    }

    @Override
    public Tensor forward(ParameterArena arena, Tensor x, Mode mode) {
        Tensor y = body.forward(arena, x, mode);
        Tensor skip = shortcut == null ? x : shortcut.forward(arena, x, mode);
        return Ops.relu(Ops.add(y, skip));
    }
}
