package dev.jmoco.backend.opencl;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.conformance.ConformanceBackends;
import dev.jmoco.backend.gpu.KernelGeometry;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.List;
import java.util.Random;

import static dev.jmoco.backend.conformance.ConformanceBackends.uniform;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The portability header's own tests (kernels/jmoco.h; the pitfall CLBlast's opencl_to_cuda.h shows: a header
 * that maps one language onto another needs its own checks). The kernels of
 * src/test/resources/dev/jmoco/kerneltest/header_test.cl run on the OpenCL device and their results are
 * compared with values computed here: ids exactly, math within 4 float ulps (OpenCL allows exp and log 3 ulps).
 * The same file is compiled by nvcc in the build (profile cuda-kernels), where static_asserts check
 * that the math names resolve to float functions. Skipped, like the conformance suite, without OpenCL.
 */
class PortabilityHeaderTest {
    @RegisterExtension static final ConformanceBackends backends = new ConformanceBackends();

    private static ClProgram program;
    private OpenClBackend cl;

    @BeforeEach
    void open() {
        cl = (OpenClBackend) ConformanceBackends.targets().findFirst().orElseThrow().device();
        synchronized (PortabilityHeaderTest.class) {
            if (program == null)
                program = cl.buildProgram(ClKernelSources.program("dev/jmoco/kerneltest/", List.of("header_test.cl")));
        }
    }

    @AfterAll
    static void close() {
        if (program != null) program.close();
        program = null;
    }

    private ClLaunch launch(String name) { return new ClLaunch(cl.queue(), program.kernel(name), name); }

    @Test
    void oneDimensionalIdsWithARoundedUpGlobalSize() {
        int n = 300, local = 64, groups = 5; // 300 work-items in 5 groups of 64: the last 20 are bound-checked away
        float[] out = run(5 * n, 2, o -> launch("hdr_ids_1d").arg(o).arg(n).run(n, local));
        float[] expected = new float[5 * n];
        for (int i = 0; i < n; i++) {
            float[] ids = {i, i % local, i / local, local, groups};
            System.arraycopy(ids, 0, expected, 5 * i, 5);
        }
        assertArrayEquals(expected, out);
    }

    @Test
    void twoDimensionalIdsWithDimensionZeroAsColumns() {
        int w = 37, h = 11, lx = 8, ly = 4;
        float[] out = run(10 * w * h, 3, o -> launch("hdr_ids_2d").arg(o).arg(w).arg(h).run(w, h, lx, ly));
        float[] expected = new float[10 * w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float[] ids = {x, y, x % lx, y % ly, x / lx, y / ly, lx, ly, 5, 3};
                System.arraycopy(ids, 0, expected, 10 * (y * w + x), 10);
            }
        assertArrayEquals(expected, out);
    }

    @Test
    void localArrayReductionWithBarriersAndADeviceFunction() {
        int n = 200, groups = 4;
        float[] x = uniform(new Random(7), n, -2, 2);
        double[] expected = new double[groups];
        for (int i = 0; i < n; i++) expected[i / 64] += (double) x[i] * x[i];
        try (Buffer root = cl.allocate(n + 3)) {
            Buffer view = root.slice(3, n);
            cl.upload(x, 0, view);
            float[] sums = run(groups, 1, s -> launch("hdr_reduce").arg((ClBuffer) view).arg(n).arg(s).run(n, 64));
            // 64 squares of at most 4 each, summed in float: a few ulps of the sum.
            Tolerance.assertClose("sum of squares per group", expected, sums, 1e-5, 1e-6);
        }
    }

    /**
     * block_sum and block_max of jmoco.h at work-group sizes 32, 256 and 1024 (those the device runs), called
     * twice each on one scratch array, with every work-item's results checked. Small integers keep the sums
     * exact in any order, so the check is exact; all-negative values catch a max that starts from 0, and n not
     * a multiple of the group size leaves a partial last group. A hundred groups keep several running at once,
     * which is what exposed PoCL sharing one local array between groups (see DEVICE_FN_LOCAL in jmoco.h).
     */
    @Test
    void blockReductionsGiveEveryWorkItemTheGroupResult() {
        Random r = new Random(13);
        for (int local : new int[] {32, 256, 1024}) {
            if (local > cl.maxWorkGroupSize()) continue;
            int n = 100 * local + local / 2 + 5, groups = (n + local - 1) / local;
            float[] x = new float[n];
            for (int i = 0; i < n; i++) x[i] = r.nextInt(101) - 50;
            for (int i = 0; i < local; i++) x[i] = -1 - r.nextInt(50); // group 0 entirely negative
            float[] out;
            try (Buffer in = cl.allocate(n + 2)) {
                Buffer view = in.slice(2, n);
                cl.upload(x, 0, view);
                out = run(4 * groups * local, 1,
                        o -> launch("hdr_block_reduce").arg((ClBuffer) view).arg(n).arg(o).run(n, local));
            }
            float[] expected = new float[out.length];
            for (int gr = 0; gr < groups; gr++) {
                float sum = 0, max = Float.NEGATIVE_INFINITY, sum2 = 0, max2 = Float.NEGATIVE_INFINITY;
                for (int i = gr * local; i < Math.min(n, (gr + 1) * local); i++) {
                    sum += x[i];
                    max = Math.max(max, x[i]);
                    sum2 += 2 * x[i] + 1;
                    max2 = Math.max(max2, -x[i]);
                }
                for (int i = gr * local; i < (gr + 1) * local; i++)
                    System.arraycopy(new float[] {sum, max, sum2, max2}, 0, expected, 4 * i, 4);
            }
            assertArrayEquals(expected, out, "work-group size " + local);
        }
    }

    @Test
    void mathNamesAreFloatFunctions() {
        int n = 1000;
        float[] x = uniform(new Random(11), n, 0.01f, 20);
        float[] out;
        try (Buffer in = cl.allocate(n)) {
            cl.upload(x, 0, in);
            out = run(6 * n, 0, o -> launch("hdr_math").arg((ClBuffer) in).arg(o).arg(n).run(n, 64));
        }
        double[] expected = new double[6 * n];
        for (int i = 0; i < n; i++) {
            double v = x[i];
            double[] e = {Math.exp(v), Math.log(v), Math.sqrt(v), Math.max(v, 1), Math.min(v, 1), Math.abs(v)};
            System.arraycopy(e, 0, expected, 6 * i, 6);
        }
        // 4 ulps of float relative (exp, log: 3 ulps allowed by OpenCL, plus the input's own rounding in log near
        // 1 covered by the absolute term).
        Tolerance.assertClose("exp/log/sqrt/fmax/fmin/fabs", expected, out, 1e-6, 4 * Math.ulp(1f));
    }

    @Test
    void intBuffersTakeTheirOwnOffset() {
        int[] index = {9, 9, 4, 0, 7, 1, 3};
        float[] src = new float[10];
        for (int i = 0; i < src.length; i++) src[i] = 100 + i;
        float[] out;
        try (Buffer s = cl.allocate(src.length); ClBuffer idx = cl.ints(index)) {
            cl.upload(src, 0, s);
            ClBuffer tail = idx.slice(2, index.length - 2); // view at a non-zero offset into the int buffer
            out = run(index.length - 2, 4, o -> launch("hdr_gather").arg((ClBuffer) s).arg(tail).arg(o)
                    .arg(index.length - 2).run(index.length - 2, 64));
        }
        assertArrayEquals(new float[] {104, 100, 107, 101, 103}, out);
    }

    /**
     * Every KernelGeometry constant reaches the OpenCL compiler as the macro of its name, through ClProgram's
     * options: a kernel generated from the names writes each macro's value, compared with the launchers' value.
     */
    @Test
    void geometryMacrosHaveTheLaunchersValues() {
        List<String> names = List.copyOf(KernelGeometry.values().keySet());
        StringBuilder src = new StringBuilder(ClKernelSources.program("dev/jmoco/kerneltest/", List.of()))
                .append("KERNEL void geometry_report(GLOBAL float* out, int out_off) {\n");
        for (int i = 0; i < names.size(); i++)
            src.append("    out[out_off + ").append(i).append("] = (float) ").append(names.get(i)).append(";\n");
        float[] out;
        try (ClProgram p = cl.buildProgram(src.append("}\n").toString())) {
            out = run(names.size(), 1, o -> new ClLaunch(cl.queue(), p.kernel("geometry_report"), "geometry_report")
                    .arg(o).run(1, 1));
        }
        for (int i = 0; i < names.size(); i++)
            assertEquals((float) KernelGeometry.values().get(names.get(i)), out[i], names.get(i));
    }

    /** Runs {@code kernel} on a view of {@code size} floats at {@code offset} into a NaN-filled root; returns the view. */
    private float[] run(int size, int offset, java.util.function.Consumer<ClBuffer> kernel) {
        try (Buffer root = cl.allocate(size + offset)) {
            cl.fill(root, Float.NaN);
            ClBuffer view = (ClBuffer) root.slice(offset, size);
            kernel.accept(view);
            float[] out = new float[size];
            cl.download(view, out, 0);
            return out;
        }
    }
}
