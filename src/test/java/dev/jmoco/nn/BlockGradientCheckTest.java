package dev.jmoco.nn;

import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tape;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.cpu.CpuBackend;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.DoubleSupplier;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Backward of a tiny BasicBlock with a downsample branch (3 -> 4 channels, stride 2, on [4, 3, 6, 6], training
 * mode) against central differences: every parameter element and a sample of inputs. The objective is
 * L = sum_i w_i y_i with fixed random w, accumulated in double from the float32 outputs; the derivative uses
 * the step actually taken after rounding. Step 3e-3 and tolerance 2e-3 abs + 1e-2 rel: the float32 noise of L
 * (a few 1e-6) over 2h is about 1e-3 at worst.
 *
 * <p>ReLU kinks: with batch statistics over 18 to 36 values per channel, one perturbed weight moves every
 * pre-activation, and one of them crossing zero inside [x - h, x + h] spoils that element's difference (seen
 * with h = 1e-2: a fifth of conv1's elements, up to 100x the tolerance). Such elements are detected, not
 * guessed: where the differences with steps h and h/2 disagree beyond the tolerance, the function is not
 * smooth there and the element is skipped; at most 10% may be (here 8 and 2 of conv1's 108, none elsewhere).
 * A wrong backward gives differences that agree with each other and not with it. BN weights and biases are
 * randomised so their gradients are not the special case gamma = 1, beta = 0.
 */
class BlockGradientCheckTest {
    private static final int N = 4, C = 3, HW = 6, PLANES = 4;
    private static final double H = 3e-3, ABS = 2e-3, REL = 1e-2;

    @ParameterizedTest(name = "bn groups {0}")
    @ValueSource(ints = {1, 2})
    void basicBlockMatchesFiniteDifferences(int groups) {
        ResidualBlock block = ResidualBlock.basic("b", C, PLANES, 2);
        ParameterLayout layout = new ParameterLayout(DecayPolicy.EXEMPT_NORM_AND_BIAS);
        block.register(layout);
        Random r = new Random(11);
        Mode mode = Mode.train(groups);
        try (CpuBackend backend = new CpuBackend();
             ParameterArena arena = layout.builder().build(backend, true);
             Tensor x = Tensor.fromArray(backend, NnTesting.uniform(r, N * C * HW * HW, 1), N, C, HW, HW)
                     .requiresGrad(true)) {
            block.initialize(arena, new SplittableRandom(5));
            for (ParameterLayout.Spec s : layout.specs())
                if (s.shape().length == 1 && s.kind() != ParameterArena.Kind.STATE) {
                    float[] v = NnTesting.uniform(r, s.shape()[0], 0.5);
                    if (s.name().endsWith(".weight")) for (int i = 0; i < v.length; i++) v[i] += 1;
                    arena.load(s.name(), v);
                }
            double[] w;
            try (Tape tape = Tape.record()) {
                Tensor y = block.forward(arena, x, mode);
                float[] wf = NnTesting.uniform(r, (int) y.size(), 1);
                w = new double[wf.length];
                for (int i = 0; i < wf.length; i++) w[i] = wf[i];
                try (Tensor seed = Tensor.fromArray(backend, wf, y.shape())) {
                    tape.backwardWith(y, seed);
                }
            }
            for (ParameterLayout.Spec s : layout.specs()) {
                if (s.kind() == ParameterArena.Kind.STATE) continue;
                float[] values = arena.export(s.name());
                float[] analytic = NnTesting.grad(arena, s.name());
                int[] all = IntStream.range(0, values.length).toArray();
                check(s.name() + " (groups " + groups + ")", values, all, analytic,
                        v -> arena.load(s.name(), v), () -> objective(block, arena, x, mode, w));
            }
            check("x (groups " + groups + ")", x.toArray(), r.ints(40, 0, N * C * HW * HW).distinct().toArray(),
                    x.gradToArray(), x::copyFrom, () -> objective(block, arena, x, mode, w));
        }
    }

    /** Compares analytic[i] with central differences for each picked i, skipping (at most 10%) kinks. */
    private static void check(String what, float[] values, int[] picked, float[] analytic, Consumer<float[]> load,
                              DoubleSupplier objective) {
        List<Double> numeric = new ArrayList<>();
        List<Float> matching = new ArrayList<>();
        for (int i : picked) {
            double d = derivative(values, i, H, load, objective), half = derivative(values, i, H / 2, load, objective);
            if (Math.abs(d - half) > ABS + REL * Math.abs(half)) continue; // a kink inside the step
            numeric.add(d);
            matching.add(analytic[i]);
        }
        int skipped = picked.length - numeric.size();
        assertTrue(skipped <= 0.1 * picked.length, what + ": " + skipped + " of " + picked.length + " not smooth");
        float[] a = new float[matching.size()];
        for (int j = 0; j < a.length; j++) a[j] = matching.get(j);
        Tolerance.assertClose("dL/d" + what, numeric.stream().mapToDouble(Double::doubleValue).toArray(), a, ABS, REL);
    }

    /** Central difference along element i of values (restored afterwards), written back through load. */
    private static double derivative(float[] values, int i, double h, Consumer<float[]> load,
                                     DoubleSupplier objective) {
        float v = values[i], plus = (float) (v + h), minus = (float) (v - h);
        values[i] = plus;
        load.accept(values);
        double lp = objective.getAsDouble();
        values[i] = minus;
        load.accept(values);
        double lm = objective.getAsDouble();
        values[i] = v;
        load.accept(values);
        return (lp - lm) / ((double) plus - (double) minus);
    }

    @SuppressWarnings("try")
    private static double objective(Module block, ParameterArena arena, Tensor x, Mode mode, double[] w) {
        try (Tape ignored = Tape.noGrad()) {
            float[] y = block.forward(arena, x, mode).toArray();
            double sum = 0;
            for (int i = 0; i < y.length; i++) sum += w[i] * y[i];
            return sum;
        }
    }
}
