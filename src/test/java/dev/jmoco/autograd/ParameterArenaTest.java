package dev.jmoco.autograd;

import dev.jmoco.autograd.ParameterArena.Kind;
import dev.jmoco.backend.cpu.CpuBackend;
import dev.jmoco.optim.Sgd;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static dev.jmoco.autograd.GradientCheck.uniform;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Layout, aliasing, copies, the EMA and SGD over a parameter arena, each against plain double loops. */
class ParameterArenaTest {
    private CpuBackend backend;
    private final Random random = new Random(9);

    @BeforeEach void open() { backend = new CpuBackend(1); }
    @AfterEach void close() { backend.close(); }

    /** A small ResNet-like registration: decayed and exempt parameters interleaved, plus BN state. */
    private static ParameterArena.Builder registrations() {
        return new ParameterArena.Builder()
                .parameter("conv1.weight", true, 4, 3, 3, 3)   // 108
                .parameter("bn1.weight", false, 4)
                .parameter("bn1.bias", false, 4)
                .state("bn1.running_mean", 4)
                .state("bn1.running_var", 4)
                .parameter("fc.weight", true, 10, 4)          // 40
                .parameter("fc.bias", false, 10);
    }

    @Test
    void decayedParametersComeFirstStateLivesApart() {
        try (ParameterArena a = registrations().build(backend, true)) {
            assertEquals(List.of("conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                    "fc.weight", "fc.bias"), a.names());
            assertEquals(0, a.entry("conv1.weight").offset());
            assertEquals(108, a.entry("fc.weight").offset());
            assertEquals(148, a.entry("bn1.weight").offset());
            assertEquals(152, a.entry("bn1.bias").offset());
            assertEquals(156, a.entry("fc.bias").offset());
            assertEquals(0, a.entry("bn1.running_mean").offset());
            assertEquals(4, a.entry("bn1.running_var").offset());
            assertEquals(Kind.STATE, a.entry("bn1.running_var").kind());
            assertEquals(148, a.decayedSize());
            assertEquals(166, a.parameterSize());
            assertEquals(166, a.data().size());
            assertEquals(166, a.grad().size());
            assertEquals(8, a.stateSize());
            assertArrayEquals(new int[] {10, 4}, a.tensor("fc.weight").shape());
            assertEquals(List.of("conv1.weight", "bn1.weight", "bn1.bias", "fc.weight", "fc.bias"),
                    a.parameters().stream().map(Tensor::name).toList());
        }
    }

    @Test
    void viewsAliasTheOneDataAndGradientBuffer() {
        try (ParameterArena a = registrations().build(backend, true)) {
            float[] all = uniform(random, 166, 1), grads = uniform(random, 166, 1), state = uniform(random, 8, 1);
            backend.upload(all, 0, a.data());
            backend.upload(grads, 0, a.grad());
            backend.upload(state, 0, a.state());
            for (ParameterArena.Entry e : a.entries()) {
                int from = (int) e.offset(), to = from + (int) e.size();
                Tensor t = a.tensor(e.name());
                if (e.kind() == Kind.STATE) {
                    assertArrayEquals(java.util.Arrays.copyOfRange(state, from, to), t.toArray(), e.name());
                    assertFalse(t.requiresGrad());
                    assertNull(t.grad());
                } else {
                    assertArrayEquals(java.util.Arrays.copyOfRange(all, from, to), t.toArray(), e.name());
                    assertArrayEquals(java.util.Arrays.copyOfRange(grads, from, to), t.gradToArray(), e.name());
                    assertTrue(t.requiresGrad());
                }
            }
            // Writing through a view changes the one buffer.
            a.load("bn1.bias", new float[] {7, 8, 9, 10});
            float[] back = new float[166];
            backend.download(a.data(), back, 0);
            assertArrayEquals(new float[] {7, 8, 9, 10}, java.util.Arrays.copyOfRange(back, 152, 156));
            assertArrayEquals(new float[] {7, 8, 9, 10}, a.export("bn1.bias"));
            a.zeroGrad();
            backend.download(a.grad(), back, 0);
            assertArrayEquals(new float[166], back);
        }
    }

    @Test
    void sameRegistrationsGiveTheSameLayoutAndCopiesCopyParametersAndState() {
        try (ParameterArena q = registrations().build(backend, true);
             ParameterArena k = q.newLike(false);
             ParameterArena other = registrations().build(backend, false)) {
            assertEquals(q.entries(), k.entries());
            assertEquals(q.entries(), other.entries());
            float[] data = uniform(random, 166, 1), state = uniform(random, 8, 1);
            backend.upload(data, 0, q.data());
            backend.upload(state, 0, q.state());
            k.copyFrom(q);
            assertArrayEquals(q.export("conv1.weight"), k.export("conv1.weight"));
            assertArrayEquals(state, toArray(k.state(), 8));
            assertArrayEquals(data, toArray(k.data(), 166));
            // The key encoder's arena has no gradients and its views need none.
            assertNull(k.grad());
            assertFalse(k.tensor("fc.weight").requiresGrad());
            assertThrows(IllegalStateException.class, k::zeroGrad);
            assertThrows(IllegalArgumentException.class, () -> new Sgd(k, 0.1f, 0.9f, 1e-4f));
        }
        try (ParameterArena a = registrations().build(backend, true);
             ParameterArena b = registrations().parameter("extra", false, 2).build(backend, true)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.copyFrom(b));
            assertTrue(e.getMessage().contains("different layouts"), e.getMessage());
        }
    }

    @Test
    void registrationMistakesAreRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> new ParameterArena.Builder().parameter("w", true, 2).parameter("w", false, 3));
        assertThrows(IllegalArgumentException.class, () -> new ParameterArena.Builder().parameter("w", true, 2, 0));
        assertThrows(IllegalStateException.class, () -> new ParameterArena.Builder().state("s", 2).build(backend, true));
        try (ParameterArena a = registrations().build(backend, true)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.tensor("fc.wieght"));
            assertTrue(e.getMessage().contains("fc.wieght") && e.getMessage().contains("fc.weight"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> a.load("fc.bias", new float[9]));
        }
    }

    /** theta_k = m theta_k + (1 - m) theta_q for every parameter, state untouched. */
    @Test
    void emaOverTheArenaIsThePerParameterFormula() {
        try (ParameterArena q = registrations().build(backend, true); ParameterArena k = q.newLike(false)) {
            float[] tq = uniform(random, 166, 1), tk = uniform(random, 166, 1), state = uniform(random, 8, 1);
            backend.upload(tq, 0, q.data());
            backend.upload(tk, 0, k.data());
            backend.upload(state, 0, k.state());
            float m = 0.999f;
            k.ema(m, q);
            for (ParameterArena.Entry e : k.entries()) {
                if (e.kind() == Kind.STATE) continue;
                double[] expected = new double[(int) e.size()];
                for (int i = 0; i < expected.length; i++) {
                    int j = (int) e.offset() + i;
                    expected[i] = (double) m * tk[j] + (1.0 - m) * tq[j];
                }
                // One float multiply-add per element: within a few ulps of |theta| <= 1.
                Tolerance.assertClose("ema " + e.name(), expected, k.export(e.name()), 1e-7, 1e-6);
            }
            assertArrayEquals(state, toArray(k.state(), 8), "state is not part of the EMA");
        }
    }

    /**
     * Three steps of PyTorch's SGD (momentum 0.9, weight decay 1e-2 on weights only, dampening 0), computed in
     * double with PyTorch's update order: d = g + wd p; v = d at step 1, else momentum v + d; p -= lr v.
     */
    @Test
    void sgdMatchesPyTorchForThreeStepsWithAnExemptBias() {
        try (ParameterArena a = new ParameterArena.Builder()
                .parameter("fc.weight", true, 3, 4)
                .parameter("fc.bias", false, 3)
                .build(backend, true);
             Sgd sgd = new Sgd(a, 0.1f, 0.9f, 1e-2f)) {
            float[] p0 = uniform(random, 15, 1);
            backend.upload(p0, 0, a.data());
            double[] p = new double[15], v = new double[15];
            for (int i = 0; i < 15; i++) p[i] = p0[i];
            for (int step = 0; step < 3; step++) {
                float[] g = uniform(random, 15, 1);
                backend.upload(g, 0, a.grad());
                sgd.step();
                for (int i = 0; i < 15; i++) {
                    double wd = i < 12 ? 1e-2 : 0; // fc.weight decays, fc.bias does not
                    double d = g[i] + wd * p[i];
                    v[i] = step == 0 ? d : 0.9 * v[i] + d;
                    p[i] -= 0.1 * v[i];
                }
                // float32 updates of values ~1: a few ulps per step.
                Tolerance.assertClose("sgd step " + (step + 1), p, toArray(a.data(), 15), 1e-6, 1e-6);
            }
        }
    }

    private float[] toArray(dev.jmoco.backend.Buffer b, int n) {
        float[] out = new float[n];
        backend.download(b, out, 0);
        return out;
    }
}
