package dev.jmoco.nn;

import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.backend.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Initial values as torchvision's: conv weights N(0, 2 / fan_out) with fan_out = out k k (fan_in would give a
 * std off by sqrt(in / out), which layers that change width expose), linear weights and biases
 * U(-1/sqrt(in), 1/sqrt(in)), batch norm 1 / 0 with running statistics 0 / 1; seeded.
 *
 * <p>Tolerances are 5 standard errors of the estimates: a sample std of n normal values has relative standard
 * error 1/sqrt(2n), of n uniform values 0.45/sqrt(n); a sample mean std/sqrt(n). Every tensor checked has
 * n &gt;= 4096, so the std bound is at most 5.5%.
 */
class InitializationTest {
    @Test
    void resnetAndSmallCnnFollowTorchvision() {
        for (Architecture arch : new Architecture[] {
                Encoders.create("resnet18", Stem.IMAGENET, 3, HeadKind.V2, 128),
                Encoders.create("small", Stem.CIFAR, 1, HeadKind.V2, 128)}) {
            try (CpuBackend backend = new CpuBackend(); ParameterArena arena = NnTesting.arena(backend, arch, false)) {
                int checked = 0;
                for (ParameterLayout.Spec s : arch.parameters()) {
                    float[] v = arena.export(s.name());
                    int[] shape = s.shape();
                    String what = arch.id() + " " + s;
                    boolean norm = has(arch, owner(s.name()) + ".running_mean"); // batch norm (incl. state)
                    if (norm && (s.name().endsWith(".bias") || s.name().endsWith(".running_mean")))
                        assertArrayEquals(new float[v.length], v, what);
                    else if (norm)
                        for (float x : v) assertEquals(1f, x, what);
                    else if (shape.length == 4) {
                        if (v.length < 4096) continue;
                        double std = Math.sqrt(2.0 / (shape[0] * shape[2] * shape[3]));
                        checkMoments(what, v, std, 5 / Math.sqrt(2.0 * v.length));
                        checked++;
                    } else {
                        int in = s.name().endsWith(".bias") ? inputsOf(arch, s.name()) : shape[1];
                        double bound = 1 / Math.sqrt(in);
                        for (float x : v) assertTrue(Math.abs(x) <= bound, what + ": " + x + " outside +-" + bound);
                        if (v.length >= 4096)
                            checkMoments(what, v, bound / Math.sqrt(3), 5 * 0.45 / Math.sqrt(v.length));
                        checked++;
                    }
                }
                assertTrue(checked >= 4, arch.id() + ": only " + checked + " weight tensors large enough to check");
            }
        }
    }

    @Test
    void seedDecidesTheValues() {
        Architecture arch = Encoders.create("small", Stem.CIFAR, 1, HeadKind.V1, 128);
        try (CpuBackend backend = new CpuBackend();
             ParameterArena a = arch.arenaLayout().build(backend, false);
             ParameterArena b = a.newLike(false);
             ParameterArena c = a.newLike(false)) {
            arch.initialize(a, 42);
            arch.initialize(b, 42);
            arch.initialize(c, 43);
            float[] va = new float[Math.toIntExact(a.parameterSize())], vb = va.clone(), vc = va.clone();
            backend.download(a.data(), va, 0);
            backend.download(b.data(), vb, 0);
            backend.download(c.data(), vc, 0);
            assertArrayEquals(va, vb);
            assertFalse(java.util.Arrays.equals(va, vc));
        }
    }

    /** The input width of the linear layer owning {@code bias} (from its weight's shape). */
    private static int inputsOf(Architecture arch, String bias) {
        String weight = owner(bias) + ".weight";
        return arch.parameters().stream().filter(s -> s.name().equals(weight)).findFirst().orElseThrow().shape()[1];
    }

    /** "layer1.0.bn1" for "layer1.0.bn1.weight". */
    private static String owner(String name) { return name.substring(0, name.lastIndexOf('.')); }

    private static boolean has(Architecture arch, String name) {
        return arch.parameters().stream().anyMatch(s -> s.name().equals(name));
    }

    private static void checkMoments(String what, float[] v, double std, double relTolerance) {
        double sum = 0, sq = 0;
        for (float x : v) { sum += x; sq += (double) x * x; }
        double mean = sum / v.length, sampleStd = Math.sqrt(sq / v.length - mean * mean);
        assertTrue(Math.abs(mean) <= 5 * std / Math.sqrt(v.length), what + ": mean " + mean);
        assertTrue(Math.abs(sampleStd / std - 1) <= relTolerance,
                what + ": std " + sampleStd + ", expected " + std + " within " + relTolerance * 100 + "%");
    }
}
