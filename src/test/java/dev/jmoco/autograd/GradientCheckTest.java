package dev.jmoco.autograd;

import dev.jmoco.backend.cpu.CpuBackend;
import dev.jmoco.testing.OneDnn;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;

import static dev.jmoco.autograd.GradientCheck.awayFromZero;
import static dev.jmoco.autograd.GradientCheck.distinct;
import static dev.jmoco.autograd.GradientCheck.uniform;

/**
 * Every differentiable op against central finite differences (see {@link GradientCheck}). Steps and
 * tolerances are per op: ops that are linear (or piecewise linear away from kinks and ties) in the checked
 * input have no truncation error, so they take a large step and a tolerance near float32 rounding
 * (abs 1e-4 + rel 1e-4); smooth nonlinear ops take a small step and a looser tolerance that covers the
 * step's truncation error and the rounding of the float32 objective divided by 2h.
 */
class GradientCheckTest {
    /** The default backend (convolutions on oneDNN where it loads) and one whose convolutions run in Java. */
    private static CpuBackend backend, javaConv;

    @BeforeAll static void open() { backend = new CpuBackend(); javaConv = new CpuBackend(2, false); }
    @AfterAll static void close() { backend.close(); javaConv.close(); }

    /** The backend of convolution path {@code path} (see {@link OneDnn}; skips onednn where it is missing). */
    private static CpuBackend onPath(String path) {
        OneDnn.assumePath(path);
        return path.equals("java") ? javaConv : backend;
    }

    // Linear ops: a large step, a tolerance at float rounding.
    private static final double LINEAR_H = 0.25, LINEAR_ABS = 1e-4, LINEAR_REL = 1e-4;

    @ParameterizedTest(name = "transA={0} transB={1}")
    @CsvSource({"false,false", "false,true", "true,false", "true,true"})
    void matmul(boolean transA, boolean transB) {
        int m = 3, n = 4, k = 5;
        Random r = new Random(1);
        GradientCheck.of(backend, "matmul", in -> Ops.matmul(in.get(0), in.get(1), transA, transB))
                .input("a", uniform(r, m * k, 1), transA ? new int[] {k, m} : new int[] {m, k})
                .input("b", uniform(r, k * n, 1), transB ? new int[] {n, k} : new int[] {k, n})
                .step(LINEAR_H, LINEAR_ABS, LINEAR_REL).run();
    }

    @Test
    void linearWithBias() {
        Random r = new Random(2);
        GradientCheck.of(backend, "linear", in -> Ops.linear(in.get(0), in.get(1), in.get(2)))
                .input("x", uniform(r, 4 * 6, 1), 4, 6)
                .input("weight", uniform(r, 3 * 6, 1), 3, 6)
                .input("bias", uniform(r, 3, 1), 3)
                .step(LINEAR_H, LINEAR_ABS, LINEAR_REL).run();
    }

    @Test
    void linearWithoutBias() {
        Random r = new Random(3);
        GradientCheck.of(backend, "linear", in -> Ops.linear(in.get(0), in.get(1), null))
                .input("x", uniform(r, 5 * 4, 1), 5, 4)
                .input("weight", uniform(r, 2 * 4, 1), 2, 4)
                .step(LINEAR_H, LINEAR_ABS, LINEAR_REL).run();
    }

    static Stream<Arguments> convCases() {
        Object[][] shapes = {
                // name,     n, c, h, w, k, r, stride, pad
                {"1x1", 2, 3, 4, 4, 4, 1, 1, 0},
                {"3x3 s1 p1", 2, 3, 5, 5, 4, 3, 1, 1},
                {"7x7 s2 p3", 1, 2, 9, 9, 3, 7, 2, 3},
                {"3x3 s2 p0", 2, 2, 7, 7, 3, 3, 2, 0},
                {"3x3 s2 p1", 2, 2, 8, 8, 3, 3, 2, 1}};
        return OneDnn.paths().flatMap(path -> Arrays.stream(shapes).map(v -> {
            Object[] a = Arrays.copyOf(v, v.length + 1);
            a[v.length] = path;
            return Arguments.of(a);
        }));
    }

    @ParameterizedTest(name = "{0} {9}")
    @MethodSource("convCases")
    void conv2d(String name, int n, int c, int h, int w, int k, int rs, int stride, int pad, String path) {
        Random r = new Random(name.hashCode());
        GradientCheck.of(onPath(path), "conv2d " + name + " " + path,
                        in -> Ops.conv2d(in.get(0), in.get(1), stride, pad))
                .input("x", uniform(r, n * c * h * w, 1), n, c, h, w)
                .input("weight", uniform(r, k * c * rs * rs, 1), k, c, rs, rs)
                .step(LINEAR_H, LINEAR_ABS, LINEAR_REL).run();
    }

    /**
     * Nonlinear in x (batch statistics), linear in gamma and beta. h = 1e-2 on inputs of scale 1: truncation
     * error ~ h^2 |f'''| ~ 1e-4, float rounding of the objective / 2h ~ 1e-5; tolerance 1e-3 abs + 1e-3 rel.
     */
    @ParameterizedTest(name = "groups={0}")
    @ValueSource(ints = {1, 2})
    void batchNormTrain(int groups) {
        Random r = new Random(10 + groups);
        int n = 4, c = 3, h = 2, w = 3;
        GradientCheck.of(backend, "batchNorm2d groups=" + groups,
                        in -> Ops.batchNorm2d(in.get(0), in.get(1), in.get(2), in.get(3), in.get(4), groups, 0.1f, 1e-5f))
                .input("x", uniform(r, n * c * h * w, 1), n, c, h, w)
                .input("gamma", shifted(uniform(r, c, 0.5), 1), c)
                .input("beta", uniform(r, c, 0.5), c)
                .constant("running_mean", new float[c], c)
                .constant("running_var", ones(c), c)
                .step(1e-2, 1e-3, 1e-3).run();
    }

    /** BN over [n, c] (after a linear layer, as in MoCo v2's head). Same reasoning as above. */
    @Test
    void batchNormTrainOnMatrix() {
        Random r = new Random(13);
        int n = 6, c = 4;
        GradientCheck.of(backend, "batchNorm2d [n, c]",
                        in -> Ops.batchNorm2d(in.get(0), in.get(1), in.get(2), in.get(3), in.get(4), 1, 0.1f, 1e-5f))
                .input("x", uniform(r, n * c, 1), n, c)
                .input("gamma", shifted(uniform(r, c, 0.5), 1), c)
                .input("beta", uniform(r, c, 0.5), c)
                .constant("running_mean", new float[c], c)
                .constant("running_var", ones(c), c)
                .step(1e-2, 1e-3, 1e-3).run();
    }

    /** Piecewise linear; no element within 0.05 of the kink, so h = 1e-2 never crosses it. */
    @Test
    void relu() {
        Random r = new Random(20);
        GradientCheck.of(backend, "relu", in -> Ops.relu(in.get(0)))
                .input("x", awayFromZero(r, 3 * 4 * 5, 0.05), 3, 4, 5)
                .step(1e-2, LINEAR_ABS, LINEAR_REL).run();
    }

    @Test
    void add() {
        Random r = new Random(21);
        GradientCheck.of(backend, "add", in -> Ops.add(in.get(0), in.get(1)))
                .input("a", uniform(r, 2 * 3 * 4, 1), 2, 3, 4)
                .input("b", uniform(r, 2 * 3 * 4, 1), 2, 3, 4)
                .step(LINEAR_H, LINEAR_ABS, LINEAR_REL).run();
    }

    @Test
    void scale() {
        Random r = new Random(23);
        GradientCheck.of(backend, "scale", in -> Ops.scale(in.get(0), -1f / 0.07f))
                .input("x", uniform(r, 4 * 6, 1), 4, 6)
                .step(LINEAR_H, LINEAR_ABS, LINEAR_REL).run();
    }

    /** A tensor feeding two ops (a skip connection) accumulates both gradients: y = relu(x) + x. */
    @Test
    void skipConnectionAccumulates() {
        Random r = new Random(22);
        GradientCheck.of(backend, "relu(x) + x", in -> Ops.add(Ops.relu(in.get(0)), in.get(0)))
                .input("x", awayFromZero(r, 4 * 6, 0.05), 4, 6)
                .step(1e-2, LINEAR_ABS, LINEAR_REL).run();
    }

    /** Piecewise linear; elements 0.05 apart, so h = 1e-2 never changes a window's winner. */
    @Test
    void maxPool3x3Stride2Pad1() {
        Random r = new Random(30);
        GradientCheck.of(backend, "maxPool2d 3x3/2 p1", in -> Ops.maxPool2d(in.get(0), 3, 2, 1))
                .input("x", distinct(r, 2 * 2 * 7 * 7, 0.05), 2, 2, 7, 7)
                .step(1e-2, LINEAR_ABS, LINEAR_REL).run();
    }

    @Test
    void globalAvgPool() {
        Random r = new Random(31);
        GradientCheck.of(backend, "globalAvgPool", in -> Ops.globalAvgPool(in.get(0)))
                .input("x", uniform(r, 2 * 3 * 4 * 5, 1), 2, 3, 4, 5)
                .step(LINEAR_H, LINEAR_ABS, LINEAR_REL).run();
    }

    /** Reshaping is free: a view passes its gradient to the base (globalAvgPool then a [n, c] matmul). */
    @Test
    void flattenView() {
        Random r = new Random(32);
        GradientCheck.of(backend, "flatten + matmul", in -> Ops.matmul(in.get(0).flatten(), in.get(1)))
                .input("x", uniform(r, 2 * 3 * 2 * 2, 1), 2, 3, 2, 2)
                .input("w", uniform(r, 12 * 3, 1), 12, 3)
                .step(LINEAR_H, LINEAR_ABS, LINEAR_REL).run();
    }

    /** Smooth; rows of norm ~1.4, h = 1e-3: truncation ~ 1e-6, rounding / 2h ~ 1e-4. */
    @Test
    void l2NormalizeRows() {
        Random r = new Random(40);
        GradientCheck.of(backend, "l2NormalizeRows", in -> Ops.l2NormalizeRows(in.get(0)))
                .input("x", uniform(r, 4 * 6, 1), 4, 6)
                .step(1e-3, 5e-4, 1e-3).run();
    }

    /** Linear; row 3 gathered twice (its gradient adds up), rows 2 and 4 never (gradient zero). */
    @Test
    void gatherRows() {
        Random r = new Random(50);
        GradientCheck.of(backend, "gatherRows", in -> Ops.gatherRows(in.get(0), new int[] {3, 0, 3, 1}))
                .input("x", uniform(r, 5 * 2 * 3, 1), 5, 2, 3)
                .step(LINEAR_H, LINEAR_ABS, LINEAR_REL).run();
    }

    /** Smooth; logits of scale 2, h = 1e-3: truncation ~ 1e-7, float loss rounding / 2h ~ 1e-4. */
    @Test
    void softmaxCrossEntropy() {
        Random r = new Random(60);
        int[] labels = {0, 6, 3, 3, 1};
        GradientCheck.of(backend, "softmaxCrossEntropy", in -> Ops.softmaxCrossEntropy(in.get(0), labels).value())
                .input("logits", uniform(r, 5 * 7, 2), 5, 7)
                .step(1e-3, 3e-4, 1e-3).run();
    }

    /**
     * Smooth; at t = 0.2 the logits' second derivatives reach 1/t^2 = 25, so h = 1e-3 (truncation ~ 1e-5);
     * the float32 loss rounds at ~2e-7 (a few ulps after the reduction), over 2h ~ 1e-4 to 2e-4: tolerance
     * 5e-4 abs + 1e-3 rel (gradients reach 0.8). With k requiring a
     * gradient (end-to-end) dk is checked too; the queue is a constant.
     */
    @ParameterizedTest(name = "k requires grad={0}")
    @ValueSource(booleans = {false, true})
    void infoNce(boolean keyGradient) {
        Random r = new Random(70);
        int n = 4, c = 8, kq = 16;
        GradientCheck check = GradientCheck.of(backend, "infoNce",
                        in -> Ops.infoNce(in.get(0), in.get(1), in.get(2), 0.2f).value())
                .input("q", uniform(r, n * c, 0.5), n, c);
        if (keyGradient) check.input("k", uniform(r, n * c, 0.5), n, c);
        else check.constant("k", uniform(r, n * c, 0.5), n, c);
        check.constant("queue", uniform(r, kq * c, 0.5), kq, c)
                .step(1e-3, 5e-4, 1e-3).run();
    }

    /**
     * conv - bn - relu - maxpool - flatten - linear - normalize - infoNce, all parameters and the input checked
     * (50 sampled elements each). h = 1e-3: small enough that no BN output crosses relu's kink and no pool
     * window changes its winner for this seed. The float32 loss's rounding over 2h gives errors up to ~5e-4
     * (measured) against gradients up to ~1: tolerance 1e-3 abs + 1e-2 rel.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.testing.OneDnn#paths")
    void composedNetwork(String path) {
        Random r = new Random(80);
        int n = 4, c = 2, hw = 6, k = 3, feat = 5, kq = 8;
        float[] keys = normalizedRows(uniform(r, n * feat, 1), feat);
        float[] queue = normalizedRows(uniform(r, kq * feat, 1), feat);
        GradientCheck.of(onPath(path), "network " + path, in -> {
                    Tensor y = Ops.conv2d(in.get(0), in.get(1), 1, 1);
                    y = Ops.batchNorm2d(y, in.get(2), in.get(3), in.get(7), in.get(8), 2, 0.1f, 1e-5f);
                    y = Ops.maxPool2d(Ops.relu(y), 3, 2, 1);
                    Tensor q = Ops.l2NormalizeRows(Ops.linear(y.flatten(), in.get(4), in.get(5)));
                    return Ops.infoNce(q, in.get(6), in.get(9), 0.2f).value();
                })
                .input("x", uniform(r, n * c * hw * hw, 1), n, c, hw, hw)
                .input("conv.weight", uniform(r, k * c * 9, 0.5), k, c, 3, 3)
                .input("bn.weight", shifted(uniform(r, k, 0.3), 1), k)
                .input("bn.bias", uniform(r, k, 0.3), k)
                .input("fc.weight", uniform(r, feat * k * 9, 0.5), feat, k * 9)
                .input("fc.bias", uniform(r, feat, 0.5), feat)
                .constant("k", keys, n, feat)
                .constant("running_mean", new float[k], k)
                .constant("running_var", ones(k), k)
                .constant("queue", queue, kq, feat)
                .samples(50)
                .step(1e-3, 1e-3, 1e-2).run();
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return v;
    }

    private static float[] shifted(float[] v, float by) {
        for (int i = 0; i < v.length; i++) v[i] += by;
        return v;
    }

    private static float[] normalizedRows(float[] v, int cols) {
        for (int r = 0; r < v.length / cols; r++) {
            double s = 0;
            for (int j = 0; j < cols; j++) s += (double) v[r * cols + j] * v[r * cols + j];
            for (int j = 0; j < cols; j++) v[r * cols + j] /= (float) Math.sqrt(s);
        }
        return v;
    }
}
