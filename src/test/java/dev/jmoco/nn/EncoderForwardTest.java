package dev.jmoco.nn;

import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tape;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.cpu.CpuBackend;
import dev.jmoco.testing.LeakCheckedCpuBackend;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Forward and backward behaviour of whole encoders: output shapes per stem and channel count, eval versus
 * training mode (determinism, running statistics), batch-norm groups, and gradients reaching every parameter.
 * Every test returns every buffer it takes.
 */
class EncoderForwardTest {
    @RegisterExtension
    static final LeakCheckedCpuBackend CPU = new LeakCheckedCpuBackend();

    @ParameterizedTest(name = "{0} {1} c{2} {3}x{3} -> [{4}], [{5}]")
    @CsvSource({
            "resnet18, CIFAR,    3, 32, 512, 128",
            "resnet18, CIFAR,    1, 16, 512, 128",
            "resnet18, IMAGENET, 3, 64, 512, 128",
            "resnet18, IMAGENET, 1, 33, 512, 128",
            "resnet50, IMAGENET, 3, 32, 2048, 128",
            "resnet50, CIFAR,    1, 8,  2048, 128",
            "small,    CIFAR,    1, 28, 512, 128",
            "small,    CIFAR,    3, 28, 512, 128",
            "small,    CIFAR,    1, 32, 512, 64",
            "small,    CIFAR,    1, 5,  512, 16"})
    void shapes(String name, Stem stem, int channels, int size, int featureDim, int dim) {
        for (HeadKind head : HeadKind.values()) {
            Architecture arch = Encoders.create(name, stem, channels, head, dim);
            assertEquals(featureDim, arch.featureDim());
            // Shapes only: the zero-filled arena skips initialising up to 25 M weights per case.
            try (ParameterArena arena = arch.arenaLayout().build(CPU.backend(), false);
                 Tensor x = NnTesting.images(CPU.backend(), new Random(1), 2, channels, size, size);
                 Tape ignored = Tape.noGrad()) {
                Encoder e = arch.bind(arena);
                Tensor features = e.features(x, Mode.TRAIN);
                assertArrayEquals(new int[] {2, featureDim}, features.shape());
                assertArrayEquals(new int[] {2, dim}, e.project(features, Mode.TRAIN).shape());
                assertArrayEquals(new int[] {2, dim}, e.forward(x, Mode.EVAL).shape());
            }
        }
    }

    @Test
    void wrongChannelCountIsRejected() {
        Architecture arch = Encoders.create("small", Stem.CIFAR, 1, HeadKind.V1, 128);
        try (ParameterArena arena = NnTesting.arena(CPU.backend(), arch, false);
             Tensor x = NnTesting.images(CPU.backend(), new Random(1), 2, 3, 28, 28)) {
            var e = assertThrows(IllegalArgumentException.class, () -> arch.bind(arena).features(x, Mode.EVAL));
            assertTrue(e.getMessage().contains("[2, 3, 28, 28]"), e.getMessage());
        }
    }

    /** Eval mode repeats itself exactly and leaves the running statistics alone; training mode moves them. */
    @Test
    void evalIsDeterministicAndTrainingUpdatesRunningStatistics() {
        Architecture arch = Encoders.create("resnet18", Stem.CIFAR, 3, HeadKind.V2, 128);
        try (ParameterArena arena = NnTesting.arena(CPU.backend(), arch, true);
             Tensor x = NnTesting.images(CPU.backend(), new Random(2), 4, 3, 16, 16)) {
            Encoder e = arch.bind(arena);
            float[] state = stateOf(arena);
            float[] first, second;
            try (Tape ignored = Tape.noGrad()) {
                first = e.forward(x, Mode.EVAL).toArray();
                second = e.forward(x, Mode.EVAL).toArray();
            }
            assertArrayEquals(first, second, "eval forward repeated");
            assertArrayEquals(state, stateOf(arena), "running statistics after eval");
            // Eval-mode batch norm has no backward: a recording tape over a trainable arena is refused.
            try (Tape ignored = Tape.record()) {
                assertThrows(IllegalStateException.class, () -> e.forward(x, Mode.EVAL));
            }

            float[] trained;
            try (Tape ignored = Tape.record()) {
                trained = e.forward(x, Mode.TRAIN).toArray();
            }
            float[] after = stateOf(arena);
            assertFalse(Arrays.equals(state, after), "running statistics after a training forward");
            float var = arena.export("bn1.running_var")[0]; // 0.9 * 1 + 0.1 * an unbiased batch variance
            assertTrue(var != 1f && var > 0.9f, "bn1.running_var[0] = " + var);
            assertFalse(Arrays.equals(first, trained), "batch statistics differ from running statistics");
        }
    }

    /**
     * With groups = 2, sample i takes batch-norm statistics from the samples of its parity only, so the whole
     * network's output equals two groups = 1 passes over the even and the odd samples (tolerance 1e-5 abs + rel:
     * the same float32 sums in another blocking).
     */
    @Test
    void groupsNormaliseEachGroupOnItsOwn() {
        Architecture arch = Encoders.create("small", Stem.CIFAR, 1, HeadKind.V2, 16);
        try (ParameterArena arena = NnTesting.arena(CPU.backend(), arch, false);
             Tensor x = NnTesting.images(CPU.backend(), new Random(3), 8, 1, 12, 12);
             Tape ignored = Tape.noGrad()) {
            Encoder e = arch.bind(arena);
            float[] grouped = e.forward(x, Mode.train(2)).toArray();
            float[] whole = e.forward(x, Mode.TRAIN).toArray();
            float[] even = e.forward(Ops.gatherRows(x, new int[] {0, 2, 4, 6}), Mode.TRAIN).toArray();
            float[] odd = e.forward(Ops.gatherRows(x, new int[] {1, 3, 5, 7}), Mode.TRAIN).toArray();
            float[] expected = new float[grouped.length];
            for (int i = 0; i < 8; i++)
                System.arraycopy(i % 2 == 0 ? even : odd, (i / 2) * 16, expected, i * 16, 16);
            Tolerance.assertClose("groups = 2 vs per-group passes", expected, grouped, 1e-5, 1e-5);
            assertFalse(Tolerance.worstRatio(toDouble(whole), grouped, 1e-3, 1e-3) <= 1,
                    "groups = 2 must differ from groups = 1");
        }
    }

    /** One backward of a random projection of the output reaches every parameter with a nonzero gradient. */
    @ParameterizedTest(name = "{0} {1} {2}")
    @CsvSource({"resnet18, CIFAR, V2, 3, 8", "resnet50, IMAGENET, V1, 1, 32", "small, CIFAR, V2, 1, 28"})
    void gradientReachesEveryParameter(String name, Stem stem, HeadKind head, int channels, int size) {
        Architecture arch = Encoders.create(name, stem, channels, head, 8);
        Random r = new Random(4);
        try (ParameterArena arena = NnTesting.arena(CPU.backend(), arch, true);
             Tensor x = NnTesting.images(CPU.backend(), r, 4, channels, size, size);
             Tensor seed = Tensor.fromArray(CPU.backend(), NnTesting.uniform(r, 4 * 8, 1), 4, 8);
             Tape tape = Tape.record()) {
            arena.zeroGrad();
            tape.backwardWith(arch.bind(arena).forward(x, Mode.train(2)), seed);
            for (ParameterLayout.Spec s : arch.parameters()) {
                if (s.kind() == ParameterArena.Kind.STATE) continue;
                float[] g = NnTesting.grad(arena, s.name());
                boolean nonzero = false;
                for (float v : g) {
                    assertTrue(Float.isFinite(v), s.name() + " has a non-finite gradient");
                    nonzero |= v != 0;
                }
                assertTrue(nonzero, s.name() + " got no gradient");
            }
        }
    }

    private static float[] stateOf(ParameterArena arena) {
        float[] out = new float[Math.toIntExact(arena.stateSize())];
        CPU.backend().download(arena.state(), out, 0);
        return out;
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }
}
