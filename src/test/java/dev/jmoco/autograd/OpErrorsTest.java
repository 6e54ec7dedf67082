package dev.jmoco.autograd;

import dev.jmoco.backend.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Misuse is caught before any kernel runs, with messages that name the op and both shapes; a gradient of the
 * wrong shape is refused; a NaN or infinite loss is reported by the op that produced it.
 */
class OpErrorsTest {
    private CpuBackend backend;
    private Tape tape;

    @BeforeEach void open() {
        backend = new CpuBackend(1);
        tape = Tape.noGrad(); // owns every tensor below
    }

    @AfterEach void close() {
        tape.close();
        backend.close();
    }

    private Tensor t(int... shape) { return Tape.adopt(Tensor.allocate(backend, shape)); }

    /** Asserts an IllegalArgumentException whose message contains every part. */
    private static void rejects(Executable call, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        for (String p : parts)
            assertTrue(e.getMessage().contains(p), () -> "message \"" + e.getMessage() + "\" lacks \"" + p + "\"");
    }

    @Test
    void linearNamesBothShapes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Ops.linear(t(8, 64), t(10, 32), null));
        assertEquals("linear: x [8, 64] and weight [10, 32] disagree on in-features (64 vs 32)", e.getMessage());
        rejects(() -> Ops.linear(t(8, 32), t(10, 32), t(7)), "linear", "[10, 32]", "[7]", "out-features");
        rejects(() -> Ops.linear(t(8, 32, 1), t(10, 32), null), "linear", "x", "[8, 32, 1]");
    }

    @Test
    void matmulNamesBothShapes() {
        rejects(() -> Ops.matmul(t(3, 4), t(5, 6)), "matmul", "[3, 4]", "[5, 6]", "(4 vs 5)");
        rejects(() -> Ops.matmul(t(3, 4), t(3, 6), true, true), "matmul", "[3, 4]^T", "[3, 6]^T", "(3 vs 6)");
    }

    @Test
    void conv2dNamesBothShapes() {
        rejects(() -> Ops.conv2d(t(2, 3, 8, 8), t(4, 5, 3, 3), 1, 1), "conv2d", "[2, 3, 8, 8]", "[4, 5, 3, 3]",
                "in-channels");
        rejects(() -> Ops.conv2d(t(2, 3), t(4, 3, 3, 3), 1, 1), "conv2d", "x", "[2, 3]");
        rejects(() -> Ops.conv2d(t(1, 1, 2, 2), t(1, 1, 5, 5), 1, 0), "conv2d", "larger than padded input");
    }

    @Test
    void batchNormNamesBothShapes() {
        rejects(() -> Ops.batchNorm2d(t(2, 3, 4, 4), t(4), t(3), t(3), t(3), 1, 0.1f, 1e-5f),
                "batchNorm2d", "[2, 3, 4, 4]", "gamma [4]", "(3 vs 4)");
        rejects(() -> Ops.batchNorm2d(t(3, 2, 4, 4), t(2), t(2), t(2), t(2), 2, 0.1f, 1e-5f),
                "batchNorm2d", "[3, 2, 4, 4]", "2 groups");
        rejects(() -> Ops.batchNorm2dEval(t(2, 3, 4, 4), t(3), t(3), t(3, 1), t(3), 1e-5f),
                "batchNorm2d (eval)", "running_mean [3, 1]");
    }

    @Test
    void elementwiseAndPoolingNameShapes() {
        rejects(() -> Ops.add(t(2, 3), t(3, 2)), "add", "[2, 3]", "[3, 2]");
        rejects(() -> Ops.maxPool2d(t(2, 3, 4), 3, 2, 1), "maxPool2d", "[2, 3, 4]");
        rejects(() -> Ops.globalAvgPool(t(2, 3)), "globalAvgPool", "[2, 3]");
        rejects(() -> Ops.l2NormalizeRows(t(2, 3, 4)), "l2NormalizeRows", "[2, 3, 4]");
        rejects(() -> Ops.gatherRows(t(5, 3), new int[] {0, 5}), "gatherRows", "index[1] = 5", "[5, 3]");
        rejects(() -> t(2, 3).view(4, 2), "view", "[2, 3]", "[4, 2]");
    }

    @Test
    void lossesNameBothShapes() {
        rejects(() -> Ops.infoNce(t(4, 8), t(4, 7), t(16, 8), 0.2f), "infoNce", "q [4, 8]", "k [4, 7]");
        rejects(() -> Ops.infoNce(t(4, 8), t(4, 8), t(16, 6), 0.2f), "infoNce", "q [4, 8]", "queue [16, 6]",
                "(8 vs 6)");
        rejects(() -> Ops.infoNce(t(4, 8), t(4, 8), t(16, 8), 0f), "infoNce", "temperature");
        rejects(() -> Ops.softmaxCrossEntropy(t(4, 10), new int[3]), "softmaxCrossEntropy", "[4, 10]", "[3]");
        rejects(() -> Ops.softmaxCrossEntropy(t(2, 10), new int[] {1, 10}), "softmaxCrossEntropy", "label[1] = 10");
    }

    @Test
    void backwardRefusesAGradientOfTheWrongShape() {
        try (Tape rec = Tape.record();
             Tensor a = Tensor.fromArray(backend, new float[12], 3, 4).requiresGrad(true);
             Tensor b = Tensor.fromArray(backend, new float[16], 4, 4);
             Tensor wrong = Tensor.fromArray(backend, new float[12], 4, 3);
             Tensor eleven = Tensor.allocate(backend, 11)) {
            Tensor y = Ops.matmul(a, b);
            rejects(() -> rec.backwardWith(y, wrong), "backward", "[4, 3]", "[3, 4]");
            rejects(() -> rec.backward(y), "backward", "scalar", "[3, 4]");
            rejects(() -> a.setGrad(eleven.data(), false), "setGrad", "11", "[3, 4]");
        }
    }

    @Test
    void nanLossIsReportedByItsOp() {
        float[] q = new float[4 * 8];
        q[5] = Float.NaN;
        try (Tensor tq = Tensor.fromArray(backend, q, 4, 8)) {
            Loss loss = Ops.infoNce(tq, zeros(4, 8), zeros(16, 8), 0.2f);
            NonFiniteLossException e = assertThrows(NonFiniteLossException.class, loss::read);
            assertEquals("infoNce: loss is NaN", e.getMessage());
            assertEquals("infoNce", e.op());
        }
        float[] logits = new float[3 * 5];
        logits[7] = Float.NaN;
        try (Tensor tl = Tensor.fromArray(backend, logits, 3, 5)) {
            Loss loss = Ops.softmaxCrossEntropy(tl, new int[] {0, 1, 2});
            NonFiniteLossException e = assertThrows(NonFiniteLossException.class, loss::read);
            assertEquals("softmaxCrossEntropy: loss is NaN", e.getMessage());
        }
    }

    /** The label's logit at -infinity makes the loss +infinity (log-sum-exp stays finite). */
    @Test
    void infiniteLossIsReportedByItsOp() {
        try (Tensor tl = Tensor.fromArray(backend, new float[] {0, 1, Float.NEGATIVE_INFINITY, 2}, 2, 2)) {
            Loss loss = Ops.softmaxCrossEntropy(tl, new int[] {0, 0});
            NonFiniteLossException e = assertThrows(NonFiniteLossException.class, loss::read);
            assertEquals("softmaxCrossEntropy: loss is Infinity", e.getMessage());
            assertEquals(Double.POSITIVE_INFINITY, e.value());
        }
    }

    /** A finite loss reads back as the double-precision reference: mean of log-sum-exp minus the label's logit. */
    @Test
    void finiteLossReadsItsStatistics() {
        float[] logits = {1, 2, 3, 0.5f, -1, 0};
        int[] labels = {2, 1};
        double expected = 0;
        for (int r = 0; r < 2; r++) {
            double s = 0;
            for (int j = 0; j < 3; j++) s += Math.exp(logits[r * 3 + j]);
            expected += (Math.log(s) - logits[r * 3 + labels[r]]) / 2;
        }
        try (Tensor tl = Tensor.fromArray(backend, logits, 2, 3)) {
            Loss.Stats s = Ops.softmaxCrossEntropy(tl, labels).read();
            assertEquals(expected, s.loss(), 1e-6 + 1e-6 * expected);
            assertEquals(0.5, s.acc1(), 0.0); // row 0 predicts its label 2; row 1 predicts 0, not 1
            assertEquals(1.0, s.acc5(), 0.0); // 3 classes: the label is always among the top 5
        }
    }

    private Tensor zeros(int... shape) {
        Tensor z = t(shape);
        backend.fill(z.data(), 0f);
        return z;
    }
}
