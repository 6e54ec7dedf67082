package dev.jmoco.backend.cpu;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.ConvShape;
import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.testing.OneDnn;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static dev.jmoco.backend.reference.ReferenceOps.widen;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * oneDNN's convolutions ({@link CpuConvDnnl}, in both layouts, on views: operands staged from the heap and
 * results added back, as for any buffer that is not a whole root; CpuDnnlTensorsTest covers the off-heap ones) against the double-precision definition and
 * against the Java kernels, on shapes covering strides 1 and 2, padding 0 to 3, 1x1, 3x3, 5x5, 7x7 and 3x5
 * filters, odd sizes, batch 1 and more, and channel counts below, at and off oneDNN's block sizes (8 and 16),
 * where its blocked layouts carry padded channels. Operands are guarded views at an offset (GuardedBuffers).
 * Forward outputs start as NaN (they must be overwritten); dx and dw start at 0.75, and each backward pass runs
 * twice, so they must hold 0.75 + 2 x the answer (backward passes add). Skips where oneDNN is not loaded,
 * unless JMOCO_REQUIRE_ONEDNN=1.
 * <p>
 * Tolerance as CpuConvTest's (rel = 8 sqrt(L) eps, abs = rel sqrt(L) / 3 for L products per output) against the
 * definition; against the Java kernels twice that, since both paths carry their own rounding.
 */
class CpuConvDnnlTest {
    private static final double EPS = Math.ulp(1f);
    private static final float PREFILL = 0.75f;

    static Stream<Arguments> shapes() {
        ConvShape[] shapes = {
                new ConvShape(3, 5, 6, 7, 3, 1, 1, 1, 0),     // 1x1 s1 p0
                new ConvShape(1, 16, 7, 7, 32, 1, 1, 1, 0),   // 1x1 at the block size
                new ConvShape(3, 4, 7, 6, 5, 1, 1, 2, 0),     // 1x1 s2 (ResNet's downsample)
                new ConvShape(2, 32, 9, 9, 16, 1, 1, 2, 0),
                new ConvShape(3, 3, 8, 8, 5, 3, 3, 1, 1),     // 3x3 s1 p1
                new ConvShape(1, 16, 8, 8, 16, 3, 3, 1, 1),
                new ConvShape(2, 20, 9, 11, 24, 3, 3, 1, 1),  // channels off the block size, odd map
                new ConvShape(3, 5, 9, 11, 6, 3, 3, 2, 1),    // 3x3 s2 p1, odd sizes
                new ConvShape(2, 16, 9, 9, 32, 3, 3, 2, 1),
                new ConvShape(2, 3, 7, 10, 2, 3, 3, 1, 0),    // 3x3 p0
                new ConvShape(1, 8, 6, 5, 8, 3, 3, 1, 3),     // pad 3 > r - 1
                new ConvShape(4, 9, 5, 3, 7, 3, 3, 1, 2),
                new ConvShape(3, 3, 9, 8, 5, 5, 5, 1, 2),     // 5x5 p2
                new ConvShape(1, 2, 12, 9, 3, 5, 5, 2, 0),    // 5x5 s2 p0
                new ConvShape(3, 3, 23, 19, 4, 7, 7, 2, 3),   // 7x7 s2 p3: the ImageNet stem
                new ConvShape(2, 3, 32, 32, 16, 7, 7, 2, 3),
                new ConvShape(3, 4, 8, 9, 3, 3, 5, 1, 1),     // non-square 3x5 filter
                new ConvShape(5, 32, 4, 4, 32, 3, 3, 1, 1),   // a small map, ResNet's last stage in miniature
                new ConvShape(5, 6, 4, 4, 8, 3, 3, 2, 1),     // 2x2 outputs
        };
        return Arrays.stream(CpuConvDnnl.Layout.values()).flatMap(l -> Arrays.stream(shapes).map(s -> Arguments.of(l, s)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("shapes")
    void allPassesMatchDefinitionAndJavaKernels(CpuConvDnnl.Layout layout, ConvShape s) {
        OneDnn.assumePath("onednn");
        try (var g = new GuardedBuffers(2);
             var dnnl = new CpuConvDnnl(g.backend.dnnlTensors(), layout)) {
            CpuConv java = new CpuConv(g.backend, g.backend.parallel, new CpuGemm(g.backend.parallel, "java"));
            Random r = new Random(s.hashCode());
            float[] x = GuardedBuffers.uniform(r, (int) s.inputSize(), -1, 1);
            float[] w = GuardedBuffers.uniform(r, (int) s.filterSize(), -1, 1);
            float[] dy = GuardedBuffers.uniform(r, (int) s.outputSize(), -1, 1);
            Buffer bx = g.of(x), bw = g.of(w), bdy = g.of(dy);
            String what = layout + " " + s;

            Buffer y = g.of(nans((int) s.outputSize())), yJava = g.of(nans((int) s.outputSize()));
            assertTrue(dnnl.forward(s, cpu(bx), cpu(bw), cpu(y)), "oneDNN refused " + what);
            java.forward(s, cpu(bx), cpu(bw), cpu(yJava));
            int l = s.c() * s.r() * s.s();
            double[] wantY = ReferenceOps.conv2d(s, x, w, new double[(int) s.outputSize()]);
            Tolerance.assertClose(what + " forward", wantY, g.read(y), abs(l), rel(l));
            Tolerance.assertClose(what + " forward vs java", g.read(yJava), g.read(y), 2 * abs(l), 2 * rel(l));

            Buffer dx = g.of(filled((int) s.inputSize())), dxJava = g.of(filled((int) s.inputSize()));
            for (int i = 0; i < 2; i++) {
                assertTrue(dnnl.backwardData(s, cpu(bdy), cpu(bw), cpu(dx)), "oneDNN refused " + what);
                java.backwardData(s, cpu(bdy), cpu(bw), cpu(dxJava));
            }
            l = s.k() * s.r() * s.s();
            double[] wantDx = widen(filled((int) s.inputSize()));
            for (int i = 0; i < 2; i++) ReferenceOps.conv2dBackwardData(s, dy, w, wantDx);
            Tolerance.assertClose(what + " backward data, added twice", wantDx, g.read(dx), 2 * abs(l), rel(l));
            Tolerance.assertClose(what + " backward data vs java", g.read(dxJava), g.read(dx), 4 * abs(l), 2 * rel(l));

            Buffer dw = g.of(filled((int) s.filterSize())), dwJava = g.of(filled((int) s.filterSize()));
            for (int i = 0; i < 2; i++) {
                assertTrue(dnnl.backwardFilter(s, cpu(bx), cpu(bdy), cpu(dw)), "oneDNN refused " + what);
                java.backwardFilter(s, cpu(bx), cpu(bdy), cpu(dwJava));
            }
            l = s.n() * s.p() * s.q();
            double[] wantDw = widen(filled((int) s.filterSize()));
            for (int i = 0; i < 2; i++) ReferenceOps.conv2dBackwardFilter(s, x, dy, wantDw);
            Tolerance.assertClose(what + " backward filter, added twice", wantDw, g.read(dw), 2 * abs(l), rel(l));
            Tolerance.assertClose(what + " backward filter vs java", g.read(dwJava), g.read(dw), 4 * abs(l), 2 * rel(l));
            g.assertGuardsIntact();
        }
    }

    /**
     * Shapes share staging slots and plans are cached: a large shape, a small one and the large one again (each
     * pass) still give the definition's answers, and the backend's entry points reach oneDNN.
     */
    @Test
    void plansAndStagingAreReusedAcrossShapes() {
        OneDnn.assumePath("onednn");
        ConvShape big = new ConvShape(2, 16, 12, 12, 16, 3, 3, 1, 1), small = new ConvShape(1, 4, 5, 5, 8, 1, 1, 1, 0);
        try (var g = new GuardedBuffers(2)) {
            assertTrue(g.backend.usesOneDnn(), g.backend.convImplementation());
            assertTrue(g.backend.convImplementation().startsWith("oneDNN 2."), g.backend.convImplementation());
            for (ConvShape s : new ConvShape[]{big, small, big}) {
                Random r = new Random(s.hashCode());
                float[] x = GuardedBuffers.uniform(r, (int) s.inputSize(), -1, 1);
                float[] w = GuardedBuffers.uniform(r, (int) s.filterSize(), -1, 1);
                float[] dy = GuardedBuffers.uniform(r, (int) s.outputSize(), -1, 1);
                Buffer bx = g.of(x), bw = g.of(w), bdy = g.of(dy);
                Buffer y = g.of(nans((int) s.outputSize()));
                Buffer dx = g.of(new float[(int) s.inputSize()]), dw = g.of(new float[(int) s.filterSize()]);
                g.backend.conv2d(s, bx, bw, y);
                g.backend.conv2dBackwardData(s, bdy, bw, dx);
                g.backend.conv2dBackwardFilter(s, bx, bdy, dw);
                int lf = s.c() * s.r() * s.s(), ld = s.k() * s.r() * s.s(), lw = s.n() * s.p() * s.q();
                Tolerance.assertClose("forward " + s, ReferenceOps.conv2d(s, x, w, new double[(int) s.outputSize()]),
                        g.read(y), abs(lf), rel(lf));
                Tolerance.assertClose("backward data " + s, ReferenceOps.conv2dBackwardData(s, dy, w,
                        new double[(int) s.inputSize()]), g.read(dx), abs(ld), rel(ld));
                Tolerance.assertClose("backward filter " + s, ReferenceOps.conv2dBackwardFilter(s, x, dy,
                        new double[(int) s.filterSize()]), g.read(dw), abs(lw), rel(lw));
            }
            g.assertGuardsIntact();
        }
    }

    /**
     * On AVX2 and AVX-512 oneDNN picks a channel-blocked layout for activations (what the batch norm and ReLU
     * after a convolution then keep, see CpuDnnlTensors) and plain NCHW when asked for it.
     */
    @Test
    void activationsGetNamedLayouts() {
        OneDnn.assumePath("onednn");
        ConvShape s = new ConvShape(2, 16, 8, 8, 16, 3, 3, 1, 1);
        try (var g = new GuardedBuffers(2);
             var plain = new CpuConvDnnl(g.backend.dnnlTensors(), CpuConvDnnl.Layout.PLAIN)) {
            for (String pass : new String[]{"FORWARD", "BACKWARD_DATA", "BACKWARD_FILTER"}) {
                List<String> blocked = g.backend.convLayouts(s, pass);
                String x = pass.equals("BACKWARD_DATA") ? blocked.get(2) : blocked.get(0);
                assertTrue(x.startsWith("nChw8c") || x.startsWith("nChw16c"), pass + ": " + blocked);
                assertEquals("plain [2, 16, 8, 8]", pass.equals("BACKWARD_DATA") ? plain.layouts(s, pass).get(2)
                        : plain.layouts(s, pass).get(0), pass);
            }
        }
    }

    /** Each layout gets an implementation for every pass (none refused) and says which layout it is. */
    @Test
    void implementationsAreReported() {
        OneDnn.assumePath("onednn");
        ConvShape s = new ConvShape(2, 16, 8, 8, 16, 3, 3, 1, 1);
        try (var g = new GuardedBuffers(2)) {
            for (CpuConvDnnl.Layout layout : CpuConvDnnl.Layout.values())
                try (var dnnl = new CpuConvDnnl(g.backend.dnnlTensors(), layout)) {
                    for (String pass : new String[]{"FORWARD", "BACKWARD_DATA", "BACKWARD_FILTER"}) {
                        String impl = dnnl.implementation(s, pass);
                        assertTrue(!impl.isEmpty() && !impl.equals("refused"), layout + " " + pass + ": " + impl);
                    }
                    assertTrue(dnnl.description().endsWith(layout.name().toLowerCase() + " layouts"),
                            dnnl.description());
                }
        }
    }

    private static CpuBuffer cpu(Buffer b) { return (CpuBuffer) b; }

    private static double rel(int terms) { return 8 * Math.sqrt(terms) * EPS; }

    private static double abs(int terms) { return rel(terms) * Math.sqrt(terms) / 3; }

    private static float[] nans(int size) {
        float[] v = new float[size];
        Arrays.fill(v, Float.NaN);
        return v;
    }

    private static float[] filled(int size) {
        float[] v = new float[size];
        Arrays.fill(v, PREFILL);
        return v;
    }
}
