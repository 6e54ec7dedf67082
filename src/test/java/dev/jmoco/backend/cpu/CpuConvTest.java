package dev.jmoco.backend.cpu;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.ConvShape;
import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.testing.OneDnn;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;

import static dev.jmoco.backend.reference.ReferenceOps.widen;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * conv2d forward, backward data and backward filter against the double-precision definition
 * ({@link ReferenceOps}), for 1x1 s1 p0 (the no-im2col path), 1x1 s2, 3x3 s1 p1, 3x3 s2 p1, 3x3 p0, 5x5 p2, 5x5 s2 p0,
 * 3x3 with pad 2 and 3, a 3x5 filter and the 7x7 s2 p3 ImageNet stem, on square and non-square inputs with
 * odd channel counts. Each shape runs on 2 threads (images split over threads, per-thread filter gradients)
 * and on 8 (more threads than images: image groups in order, GEMMs over all cores). Maps under 256 output
 * pixels lower several images into one GEMM (gather/scatter of NCHW); larger ones use one image per GEMM, and
 * 1x1 stride-1 convolutions then read x in place. Backward data runs both its transposed-convolution path
 * (stride 1, square filter, pad &lt;= r - 1) and its col2im path. Each GEMM path (Vector API, plain Java,
 * OpenBLAS if present) runs. Forward outputs start as NaN (they must be
 * overwritten); dx and dw start at 0.75 (they must accumulate). Operands are guarded views (GuardedBuffers).
 * <p>
 * Tolerance: inputs are uniform in [-1, 1) and each output sums L = C R S (forward), K R S (data) or N P Q
 * (filter) products, so float rounding grows like sqrt(L) eps: rel = 8 sqrt(L) eps, abs = rel sqrt(L) / 3.
 */
class CpuConvTest {
    private static final double EPS = Math.ulp(1f);
    private static final float PREFILL = 0.75f;

    static Stream<Arguments> shapes() {
        ConvShape[] shapes = {
                new ConvShape(3, 5, 6, 7, 3, 1, 1, 1, 0),     // 1x1 s1 p0: x is its own column matrix
                new ConvShape(1, 5, 6, 7, 3, 1, 1, 1, 0),
                new ConvShape(3, 4, 7, 6, 5, 1, 1, 2, 0),     // 1x1 s2: needs im2col
                new ConvShape(3, 3, 8, 8, 5, 3, 3, 1, 1),     // 3x3 s1 p1
                new ConvShape(1, 7, 9, 5, 4, 3, 3, 1, 1),
                new ConvShape(3, 5, 9, 11, 6, 3, 3, 2, 1),    // 3x3 s2 p1, odd sizes
                new ConvShape(2, 3, 7, 10, 2, 3, 3, 1, 0),    // 3x3 p0
                new ConvShape(3, 3, 9, 8, 5, 5, 5, 1, 2),     // 5x5 p2
                new ConvShape(1, 2, 12, 9, 3, 5, 5, 2, 0),    // 5x5 s2 p0
                new ConvShape(3, 3, 23, 19, 4, 7, 7, 2, 3),   // 7x7 s2 p3: the ImageNet stem
                new ConvShape(1, 3, 16, 16, 8, 7, 7, 2, 3),
                new ConvShape(4, 9, 5, 3, 7, 3, 3, 1, 2),     // pad r - 1: the transposed conv has pad 0
                new ConvShape(2, 3, 4, 5, 2, 3, 3, 1, 3),     // pad > r - 1: backward data via col2im
                new ConvShape(3, 4, 8, 9, 3, 3, 5, 1, 1),     // non-square 3x5 filter
                new ConvShape(2, 3, 16, 17, 4, 1, 1, 1, 0),   // 1x1 on a map of >= 256 pixels: x used in place
                new ConvShape(2, 3, 16, 16, 4, 3, 3, 1, 1),   // >= 256 pixels: one image per GEMM, no gather
                new ConvShape(7, 3, 8, 8, 5, 3, 3, 1, 1),     // 8x8: groups of 4 images with a ragged tail
                new ConvShape(5, 6, 4, 4, 8, 3, 3, 2, 1),     // 2x2 outputs, col2im over a group
        };
        return CpuGemmTest.paths().flatMap(p -> Arrays.stream(shapes).flatMap(s ->
                // 2 threads split the images; 8 threads exceed the batch, so groups run in order (parallel GEMMs)
                Stream.of(Arguments.of(p, s, 2), Arguments.of(p, s, 8))));
    }

    @ParameterizedTest(name = "{0} {1} threads={2}")
    @MethodSource("shapes")
    void forwardMatchesDefinition(String path, ConvShape s, int threads) {
        try (var g = new GuardedBuffers(threads)) {
            Random r = new Random(s.hashCode());
            float[] x = GuardedBuffers.uniform(r, (int) s.inputSize(), -1, 1);
            float[] w = GuardedBuffers.uniform(r, (int) s.filterSize(), -1, 1);
            float[] y0 = new float[(int) s.outputSize()];
            Arrays.fill(y0, Float.NaN);
            Buffer y = g.of(y0);
            conv(g, path).forward(s, cpu(g.of(x)), cpu(g.of(w)), cpu(y));
            int l = s.c() * s.r() * s.s();
            Tolerance.assertClose(path + " forward " + s, ReferenceOps.conv2d(s, x, w, new double[y0.length]), g.read(y),
                    abs(l), rel(l));
            g.assertGuardsIntact();
        }
    }

    @ParameterizedTest(name = "{0} {1} threads={2}")
    @MethodSource("shapes")
    void backwardDataAccumulatesDefinition(String path, ConvShape s, int threads) {
        try (var g = new GuardedBuffers(threads)) {
            Random r = new Random(s.hashCode() + 1);
            float[] dy = GuardedBuffers.uniform(r, (int) s.outputSize(), -1, 1);
            float[] w = GuardedBuffers.uniform(r, (int) s.filterSize(), -1, 1);
            Buffer dx = g.of(filled((int) s.inputSize()));
            conv(g, path).backwardData(s, cpu(g.of(dy)), cpu(g.of(w)), cpu(dx));
            double[] expected = ReferenceOps.conv2dBackwardData(s, dy, w, widen(filled((int) s.inputSize())));
            int l = s.k() * s.r() * s.s();
            Tolerance.assertClose(path + " backward data " + s, expected, g.read(dx), abs(l), rel(l));
            g.assertGuardsIntact();
        }
    }

    @ParameterizedTest(name = "{0} {1} threads={2}")
    @MethodSource("shapes")
    void backwardFilterAccumulatesDefinition(String path, ConvShape s, int threads) {
        try (var g = new GuardedBuffers(threads)) {
            Random r = new Random(s.hashCode() + 2);
            float[] x = GuardedBuffers.uniform(r, (int) s.inputSize(), -1, 1);
            float[] dy = GuardedBuffers.uniform(r, (int) s.outputSize(), -1, 1);
            Buffer dw = g.of(filled((int) s.filterSize()));
            conv(g, path).backwardFilter(s, cpu(g.of(x)), cpu(g.of(dy)), cpu(dw));
            double[] expected = ReferenceOps.conv2dBackwardFilter(s, x, dy, widen(filled((int) s.filterSize())));
            int l = s.n() * s.p() * s.q();
            Tolerance.assertClose(path + " backward filter " + s, expected, g.read(dw), abs(l), rel(l));
            g.assertGuardsIntact();
        }
    }

    /**
     * The public entry points reach the kernels (argument checks pass, results land in the right buffers), on
     * both convolution paths (oneDNN where it loads, and the Java kernels as {@code cpu:java} forces them).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.testing.OneDnn#paths")
    void backendEntryPointsRunAllThreePasses(String path) {
        OneDnn.assumePath(path);
        ConvShape s = new ConvShape(2, 3, 6, 5, 4, 3, 3, 1, 1);
        try (var g = new GuardedBuffers(2, path.equals("onednn"))) {
            assertEquals(path.equals("onednn"), g.backend.usesOneDnn());
            Random r = new Random(9);
            float[] x = GuardedBuffers.uniform(r, (int) s.inputSize(), -1, 1);
            float[] w = GuardedBuffers.uniform(r, (int) s.filterSize(), -1, 1);
            float[] dy = GuardedBuffers.uniform(r, (int) s.outputSize(), -1, 1);
            Buffer y = g.of(new float[(int) s.outputSize()]);
            Buffer dx = g.of(new float[(int) s.inputSize()]), dw = g.of(new float[(int) s.filterSize()]);
            Buffer bx = g.of(x), bw = g.of(w), bdy = g.of(dy);
            g.backend.conv2d(s, bx, bw, y);
            g.backend.conv2dBackwardData(s, bdy, bw, dx);
            g.backend.conv2dBackwardFilter(s, bx, bdy, dw);
            Tolerance.assertClose("conv2d", ReferenceOps.conv2d(s, x, w, new double[(int) s.outputSize()]), g.read(y),
                    abs(27), rel(27));
            Tolerance.assertClose("conv2dBackwardData", ReferenceOps.conv2dBackwardData(s, dy, w,
                    new double[(int) s.inputSize()]), g.read(dx), abs(36), rel(36));
            Tolerance.assertClose("conv2dBackwardFilter", ReferenceOps.conv2dBackwardFilter(s, x, dy,
                    new double[(int) s.filterSize()]), g.read(dw), abs(60), rel(60));
            g.assertGuardsIntact();
        }
    }

    private static CpuConv conv(GuardedBuffers g, String path) {
        return new CpuConv(g.backend, g.backend.parallel, new CpuGemm(g.backend.parallel, path));
    }

    private static CpuBuffer cpu(Buffer b) { return (CpuBuffer) b; }

    private static double rel(int terms) { return 8 * Math.sqrt(terms) * EPS; }

    private static double abs(int terms) { return rel(terms) * Math.sqrt(terms) / 3; }

    private static float[] filled(int size) {
        float[] v = new float[size];
        Arrays.fill(v, PREFILL);
        return v;
    }
}
