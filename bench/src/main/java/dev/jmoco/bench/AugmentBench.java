package dev.jmoco.bench;

import dev.jmoco.data.AugmentationRecipe;
import dev.jmoco.data.Augmenter;
import dev.jmoco.data.Dataset;
import dev.jmoco.data.DatasetFormatException;
import dev.jmoco.data.Normalization;
import dev.jmoco.data.SampleRandom;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One augmented view on one thread (what the loader's threads do per image and view), in microseconds: the
 * figure that says how many loader threads a step rate needs (two views per image). Random pixels: the
 * augmentations' cost does not depend on them. {@code recipe}: v1 or v2; {@code shape}: CxS (channels x side).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class AugmentBench {
    @Param({"v2"}) public String recipe;
    @Param({"1x28", "3x32"}) public String shape;

    private static final int IMAGES = 512;
    private Dataset data;
    private Augmenter augmenter;
    private float[] out;
    private int next;

    @Setup
    public void setup() {
        int c = Integer.parseInt(shape.substring(0, shape.indexOf('x'))), side = Integer.parseInt(shape.substring(shape.indexOf('x') + 1));
        byte[] pixels = new byte[IMAGES * c * side * side];
        new SplittableRandom(42).nextBytes(pixels);
        data = new Dataset("random", pixels, new int[IMAGES], c, side, side, 10, Normalization.FASHION_MNIST.forChannels(c));
        AugmentationRecipe r = switch (recipe) {
            case "v1" -> AugmentationRecipe.v1(side);
            case "v2" -> AugmentationRecipe.v2(side);
            default -> throw new IllegalArgumentException("recipe must be v1 or v2, got " + recipe);
        };
        augmenter = new Augmenter(r, data);
        out = new float[augmenter.outputSize()];
    }

    @Benchmark
    public float[] augmentOneView() throws DatasetFormatException {
        int i = next++ % IMAGES;
        augmenter.augment(data, i, SampleRandom.forView(1, next / IMAGES, i, 0), out, 0);
        return out;
    }
}
