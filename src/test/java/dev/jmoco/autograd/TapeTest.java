package dev.jmoco.autograd;

import dev.jmoco.backend.cpu.CpuBackend;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.jmoco.autograd.GradientCheck.uniform;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the tape records, what it owns and returns to the pool, and the rules of its use. */
class TapeTest {
    private CpuBackend backend;
    private final Random random = new Random(5);

    @BeforeEach void open() { backend = new CpuBackend(1); }
    @AfterEach void close() { backend.close(); }

    private Tensor leaf(boolean requiresGrad, int... shape) {
        return Tensor.fromArray(backend, uniform(random, (int) Tensor.sizeOf(shape), 1), shape)
                .requiresGrad(requiresGrad);
    }

    private long live() { return backend.poolStats().live(); }

    @Test
    void closingTheTapeReturnsActivationsGradientsAndSavedStatistics() {
        try (Tensor x = leaf(true, 4, 6); Tensor w = leaf(true, 3, 6)) {
            long before = live();
            try (Tape tape = Tape.record()) {
                Tensor y = Ops.l2NormalizeRows(Ops.relu(Ops.linear(x, w, null))); // norms are saved statistics
                Tensor seed = Tape.adopt(leaf(false, 4, 3));
                tape.backwardWith(y, seed);
                assertEquals(3, tape.size());
                assertTrue(live() > before + 4, "activations, gradients and norms are live until the tape closes");
            }
            // x and w keep their gradients (owned by the leaves); everything else went back.
            assertEquals(before + 2, live());
            assertNotNull(x.gradToArray());
        }
    }

    /** BN of a single value per channel fails in the kernel; the saved statistics still go back to the pool. */
    @Test
    void aFailedForwardReleasesItsSavedContext() {
        try (Tensor x = leaf(true, 1, 2, 1, 1); Tensor gamma = leaf(true, 2); Tensor beta = leaf(true, 2);
             Tensor mean = leaf(false, 2); Tensor var = leaf(false, 2)) {
            long before = live();
            try (Tape tape = Tape.record()) {
                assertThrows(IllegalArgumentException.class,
                        () -> Ops.batchNorm2d(x, gamma, beta, mean, var, 1, 0.1f, 1e-5f));
                assertEquals(0, tape.size());
            }
            assertEquals(before, live());
        }
    }

    @Test
    void noGradScopeRecordsNothingAndCannotRunBackward() {
        try (Tensor x = leaf(true, 2, 3); Tape tape = Tape.noGrad()) {
            Tensor y = Ops.relu(x);
            assertFalse(y.requiresGrad());
            assertEquals(0, tape.size());
            assertThrows(IllegalStateException.class, () -> tape.backwardWith(y, y));
        }
    }

    @Test
    void opsOnTensorsWithoutGradientAreNotRecorded() {
        try (Tensor x = leaf(false, 2, 3); Tensor g = leaf(true, 2, 3); Tape tape = Tape.record()) {
            Tensor y = Ops.relu(x);
            assertFalse(y.requiresGrad());
            assertEquals(0, tape.size());
            assertTrue(Ops.add(y, g).requiresGrad());
            assertEquals(1, tape.size());
        }
    }

    @Test
    void outsideAnyTapeTheCallerOwnsTheOutput() {
        try (Tensor x = leaf(true, 2, 3)) {
            long before = live();
            Tensor y = Ops.relu(x);
            assertFalse(y.requiresGrad());
            assertEquals(before + 1, live());
            y.close();
            assertEquals(before, live());
        }
    }

    @Test
    void tapesCloseInReverseOrder() {
        Tape outer = Tape.record();
        Tape inner = Tape.noGrad();
        assertThrows(IllegalStateException.class, outer::close);
        inner.close();
        outer.close();
    }

    /** Eval-mode BN has no backward, so recording it would silently drop gradients: it refuses instead. */
    @Test
    void evalBatchNormRefusesToBeRecorded() {
        try (Tensor x = leaf(false, 2, 3); Tensor gamma = leaf(true, 3); Tensor beta = leaf(false, 3);
             Tensor mean = leaf(false, 3); Tensor var = Tensor.fromArray(backend, new float[] {1, 2, 3}, 3)) {
            try (Tape tape = Tape.record()) {
                IllegalStateException e = assertThrows(IllegalStateException.class,
                        () -> Ops.batchNorm2dEval(x, gamma, beta, mean, var, 1e-5f));
                assertTrue(e.getMessage().contains("batchNorm2d (eval)"), e.getMessage());
                assertEquals(0, tape.size());
            }
            try (Tape tape = Tape.noGrad()) {
                assertFalse(Ops.batchNorm2dEval(x, gamma, beta, mean, var, 1e-5f).requiresGrad());
                assertEquals(0, tape.size());
            }
        }
    }

    @Test
    void backwardRunsOncePerTape() {
        try (Tensor x = leaf(true, 1, 1); Tape tape = Tape.record()) {
            Tensor y = Ops.relu(x);
            tape.backward(y);
            assertThrows(IllegalStateException.class, () -> tape.backward(y));
        }
    }

    /** A view's gradient is its base's buffer: nothing to record for a reshape. */
    @Test
    void viewsShareDataAndGradient() {
        try (Tensor x = leaf(true, 2, 3, 2, 2); Tape tape = Tape.record()) {
            Tensor y = Ops.relu(x);
            Tensor flat = y.flatten();
            assertSame(y.data(), flat.data());
            assertEquals(2, flat.rank());
            assertEquals(12, flat.dim(1));
            tape.backwardWith(flat, Tape.adopt(leaf(false, 2, 12)));
            assertSame(y.grad(), flat.grad());
        }
    }

    /**
     * A fused loss adopts its precomputed gradient when the input has none (no copy), and adds it to a gradient
     * that is already there: here q's gradient starts at 1, so it must end at 1 + dq.
     */
    @Test
    void fusedLossAdoptsOrAddsItsGradient() {
        float[] q = uniform(random, 4 * 8, 0.5f), k = uniform(random, 4 * 8, 0.5f), queue = uniform(random, 16 * 8, 0.5f);
        float[] dq;
        try (Tensor tq = Tensor.fromArray(backend, q, 4, 8).requiresGrad(true);
             Tensor tk = Tensor.fromArray(backend, k, 4, 8); Tensor tqueue = Tensor.fromArray(backend, queue, 16, 8)) {
            try (Tape tape = Tape.record()) {
                tape.backward(Ops.infoNce(tq, tk, tqueue, 0.2f).value());
            }
            dq = tq.gradToArray(); // adopted: owned by tq, alive after the tape closed
            assertNotNull(dq);
        }
        try (Tensor tq = Tensor.fromArray(backend, q, 4, 8).requiresGrad(true);
             Tensor ones = Tensor.fromArray(backend, filled(4 * 8, 1f), 4, 8);
             Tensor tk = Tensor.fromArray(backend, k, 4, 8); Tensor tqueue = Tensor.fromArray(backend, queue, 16, 8)) {
            tq.setGrad(ones.data(), false);
            try (Tape tape = Tape.record()) {
                tape.backward(Ops.infoNce(tq, tk, tqueue, 0.2f).value());
            }
            double[] expected = new double[dq.length];
            for (int i = 0; i < dq.length; i++) expected[i] = 1.0 + dq[i];
            // Both runs compute dq identically; the only rounding is in 1 + dq (float): abs 1e-7.
            Tolerance.assertClose("1 + dq", expected, tq.gradToArray(), 1e-7, 1e-7);
        }
    }

    /** Its gradient fixed at 1, a fused loss refuses to be back-propagated with another upstream gradient. */
    @Test
    void fusedLossMustBeARootWithGradientOne() {
        try (Tensor q = leaf(true, 2, 4); Tensor k = leaf(false, 2, 4); Tensor queue = leaf(false, 3, 4);
             Tape tape = Tape.record()) {
            Loss loss = Ops.infoNce(q, k, queue, 0.2f);
            Tensor two = Tape.adopt(Tensor.fromArray(backend, new float[] {2}, 1));
            assertThrows(IllegalStateException.class, () -> tape.backwardWith(loss.value(), two));
        }
    }

    @Test
    void gradientIsAllocatedZeroedOnlyWhenBackwardReachesIt() {
        try (Tensor x = leaf(true, 3); Tensor unused = leaf(true, 3); Tape tape = Tape.record()) {
            Tensor y = Ops.relu(x);
            Ops.relu(unused); // recorded, but its output gets no gradient
            assertNull(x.grad());
            tape.backwardWith(y, Tape.adopt(Tensor.fromArray(backend, new float[] {1, 1, 1}, 3)));
            assertNotNull(x.grad());
            assertNull(unused.grad());
        }
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }
}
