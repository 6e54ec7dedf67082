package dev.jmoco.backend.conformance;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.ConvShape;
import dev.jmoco.backend.conformance.ConformanceBackends.Target;
import dev.jmoco.backend.conformance.ConformanceBackends.Views;
import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;

import static dev.jmoco.backend.reference.ReferenceOps.widen;

/**
 * conv2d forward, backward data and backward filter on each backend under test against {@link ReferenceOps}, over
 * 1x1, 3x3 and 7x7 filters (and a 3x5 one), stride 1 and 2, pad 0, 1 and 3, one or three input or output
 * channels, non-square inputs, batches of 1 and 5, one layer large enough that the OpenCL col2im path splits
 * the batch into image groups (11 + 1 images), and one whose filter gradient (a single 64 x 64 tile) the
 * OpenCL backend sums in pixel slices (8 on PoCL's 2 compute units, the last one ragged). The stride-1 shapes
 * with a square filter and pad &lt;= r - 1 take the OpenCL backend's transposed-convolution path for backward
 * data, the others its col2im path.
 * Forward outputs start as NaN (they must be overwritten); dx and dw start with random values (backward ops
 * must add into them). Operands are guarded views at a non-zero offset ({@link Views}).
 * <p>
 * Tolerance: inputs are uniform in [-1, 1), and each output sums L = C R S (forward), K R S (data) or N P Q
 * (filter) products, so rounding grows like sqrt(L) eps on each backend, in different orders:
 * rel = 16 sqrt(L) eps, abs = rel (sqrt(L) / 3 + 1) (the + 1 for the prefilled gradient), eps = 2^-23.
 */
class ConvConformanceTest {
    @RegisterExtension static final ConformanceBackends backends = new ConformanceBackends();

    private static final double EPS = Math.ulp(1f);

    static Stream<Arguments> cases() {
        return ConformanceBackends.targets().flatMap(t -> shapes().map(s -> Arguments.of(t, s)));
    }

    private static Stream<ConvShape> shapes() {
        return Stream.of(
                new ConvShape(1, 1, 5, 7, 1, 3, 3, 1, 1),      // c = k = 1, batch 1
                new ConvShape(5, 3, 9, 6, 3, 3, 3, 2, 1),      // 3x3 s2 p1, batch 5
                new ConvShape(5, 3, 8, 11, 4, 3, 3, 1, 0),     // 3x3 p0
                new ConvShape(2, 3, 11, 13, 4, 7, 7, 2, 3),    // 7x7 s2 p3: the ImageNet stem
                new ConvShape(1, 3, 9, 10, 5, 7, 7, 1, 0),     // 7x7 p0
                new ConvShape(5, 4, 8, 8, 3, 1, 1, 1, 0),      // 1x1 s1 p0
                new ConvShape(3, 8, 7, 5, 1, 1, 1, 2, 0),      // 1x1 s2, k = 1
                new ConvShape(1, 5, 6, 9, 3, 1, 1, 1, 1),      // 1x1 p1 (border outputs are 0)
                new ConvShape(2, 3, 8, 9, 3, 3, 5, 1, 1),      // non-square filter
                new ConvShape(5, 1, 4, 4, 3, 3, 3, 2, 1),      // 2x2 outputs
                new ConvShape(5, 3, 30, 30, 4, 3, 3, 1, 1),    // 4500 pixels, 1 tile of dW: split pixel sum
                new ConvShape(12, 256, 72, 72, 8, 3, 3, 2, 1)); // > 128 MB of columns: groups of 11, then 1
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void forwardMatchesReference(Target t, ConvShape s) {
        Random r = new Random(s.hashCode());
        float[] x = uniform(r, s.inputSize()), w = uniform(r, s.filterSize());
        float[] y = new float[(int) s.outputSize()];
        Arrays.fill(y, Float.NaN);
        Pass pass = (b, v) -> {
            Buffer out = v.of(y);
            b.conv2d(s, v.of(x), v.of(w), out);
            return out;
        };
        check(t, "conv2d " + s, ReferenceOps.conv2d(s, x, w, new double[y.length]), pass, s.c() * s.r() * s.s());
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void backwardDataAddsLikeReference(Target t, ConvShape s) {
        Random r = new Random(s.hashCode() + 1);
        float[] dy = uniform(r, s.outputSize()), w = uniform(r, s.filterSize()), dx = uniform(r, s.inputSize());
        Pass pass = (b, v) -> {
            Buffer out = v.of(dx);
            b.conv2dBackwardData(s, v.of(dy), v.of(w), out);
            return out;
        };
        check(t, "conv2dBackwardData " + s, ReferenceOps.conv2dBackwardData(s, dy, w, widen(dx)), pass,
                s.k() * s.r() * s.s());
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void backwardFilterAddsLikeReference(Target t, ConvShape s) {
        Random r = new Random(s.hashCode() + 2);
        float[] x = uniform(r, s.inputSize()), dy = uniform(r, s.outputSize()), dw = uniform(r, s.filterSize());
        Pass pass = (b, v) -> {
            Buffer out = v.of(dw);
            b.conv2dBackwardFilter(s, v.of(x), v.of(dy), out);
            return out;
        };
        check(t, "conv2dBackwardFilter " + s, ReferenceOps.conv2dBackwardFilter(s, x, dy, widen(dw)), pass,
                s.n() * s.p() * s.q());
    }

    /** One convolution pass on a backend, with operands from {@code v}; returns the buffer it wrote. */
    @FunctionalInterface
    private interface Pass {
        Buffer run(Backend backend, Views v);
    }

    private static void check(Target t, String what, double[] expected, Pass pass, int terms) {
        float[] actual = run(t.device(), pass);
        double rel = 16 * Math.sqrt(terms) * EPS, abs = rel * (Math.sqrt(terms) / 3 + 1);
        Tolerance.assertClose(t + " " + what, expected, actual, abs, rel);
    }

    private static float[] run(Backend backend, Pass pass) {
        try (Views v = new Views(backend)) {
            float[] out = v.read(pass.run(backend, v));
            v.assertGuardsIntact();
            return out;
        }
    }

    private static float[] uniform(Random r, long size) {
        return ConformanceBackends.uniform(r, Math.toIntExact(size), -1, 1);
    }
}
