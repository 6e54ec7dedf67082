package dev.jmoco.bench;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.ConvShape;
import dev.jmoco.backend.cpu.CpuBackend;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

import java.util.SplittableRandom;

/**
 * The three convolution passes at a ResNet-18 CIFAR layer: batch 64, 64 -> 64 channels, 32 x 32, 3 x 3,
 * stride 1, pad 1 (FLOPs per pass: ConvShape.flops() = 2 N K P Q C R S), each as a training step runs it:
 * the backward-data pass writes a gradient the tape has just zeroed (fill 0 is timed with it: on the CPU a
 * flag, elsewhere a memset), the backward-filter pass adds into the filter gradient (which only grows while
 * timed; that costs nothing).
 * <p>
 * {@code operands} (CPU with oneDNN): {@code resident} (the default) leaves the activations where the passes
 * put them, off-heap in oneDNN's layout, as between the ops of a step (x and dy are staged once, then reused);
 * {@code heap} hands every pass views of heap arrays, so each one copies and reorders its operands in and its
 * result out, as PyTorch's conv2d does from and to its NCHW tensors. The {@code gemm} parameter picks the CPU GEMM
 * path (jmoco.cpu.gemm) of the Java convolutions; on the CPU they run on oneDNN where it is installed, and
 * {@code -p device=cpu,cpu:java} times both. Each timed method waits for the device ({@code synchronize}). On PoCL
 * ({@code -p device=opencl:cpu}) a pass at the default batch takes about 6 s: use {@code -p n=8} there.
 * The peer is PyTorch's conv2d and convolution_backward (bench/peer.py).
 */
public class ConvBench extends BenchBase {
    @Param({"64"}) public int n;
    @Param({"64"}) public int c;
    @Param({"32"}) public int hw;
    @Param({"64"}) public int k;
    @Param({"3"}) public int r;
    @Param({"1"}) public int stride;
    @Param({"1"}) public int pad;
    /** CPU GEMM path: auto, java, openblas (ignored by other devices). */
    @Param({"auto"}) public String gemm;
    /** resident or heap: where the operands live between passes (see the class comment). */
    @Param({"resident", "heap"}) public String operands;

    private ConvShape shape;
    private Buffer x, w, y, dy, dx, dw;

    @Setup
    public void setup() {
        System.setProperty("jmoco.cpu.gemm", gemm);
        openBackend();
        if (backend instanceof CpuBackend cpu)
            System.out.println("# cpu gemm: " + cpu.gemmImplementation() + "; conv: " + cpu.convImplementation());
        shape = new ConvShape(n, c, hw, hw, k, r, r, stride, pad);
        boolean heap = switch (operands) {
            case "resident" -> false;
            case "heap" -> true;
            default -> throw new IllegalArgumentException("operands must be resident or heap, got " + operands);
        };
        x = view(random(shape.inputSize(), 1f, 1), heap);
        w = random(shape.filterSize(), 1f, 2);
        dy = view(random(shape.outputSize(), 1f, 3), heap);
        y = view(backend.allocate(shape.outputSize()), heap);
        dx = view(backend.allocate(shape.inputSize()), heap);
        dw = backend.allocate(shape.filterSize());
        backend.fill(dw, 0f);
        forward();
        backwardData();
        backwardFilter();
        verify();
    }

    /** Sampled entries of y, dx and dw against the definition in double (abs 1e-3 + rel 1e-4; with TF32 abs 5e-2 +
     * rel 1e-2: the filter gradient sums n p q = 65,536 products, each rounded by about 2^-10). */
    private void verify() {
        float[] hx = read(x), hw_ = read(w), hdy = read(dy), hy = read(y), hdx = read(dx), hdw = read(dw);
        SplittableRandom rnd = new SplittableRandom(4);
        int p = shape.p(), q = shape.q(), h = shape.h(), wd = shape.w();
        for (int sample = 0; sample < 16; sample++) {
            int i = rnd.nextInt(n), kk = rnd.nextInt(k), cc = rnd.nextInt(c);
            int oh = rnd.nextInt(p), ow = rnd.nextInt(q), ih = rnd.nextInt(h), iw = rnd.nextInt(wd);
            int rr = rnd.nextInt(r), ss = rnd.nextInt(r);
            double ey = 0, edx = 0, edw = 0;
            for (int ch = 0; ch < c; ch++)
                for (int a = 0; a < r; a++)
                    for (int b = 0; b < r; b++) {
                        int yh = oh * stride - pad + a, yw = ow * stride - pad + b;
                        if (yh >= 0 && yh < h && yw >= 0 && yw < wd)
                            ey += (double) hx[((i * c + ch) * h + yh) * wd + yw] * hw_[((kk * c + ch) * r + a) * r + b];
                    }
            for (int o = 0; o < k; o++) // dx[i, cc, ih, iw]: outputs whose window covers (ih, iw)
                for (int a = 0; a < r; a++)
                    for (int b = 0; b < r; b++) {
                        int th = ih + pad - a, tw = iw + pad - b;
                        if (th % stride != 0 || tw % stride != 0) continue;
                        th /= stride; tw /= stride;
                        if (th >= 0 && th < p && tw >= 0 && tw < q)
                            edx += (double) hdy[((i * k + o) * p + th) * q + tw] * hw_[((o * c + cc) * r + a) * r + b];
                    }
            for (int img = 0; img < n; img++)
                for (int a = 0; a < p; a++)
                    for (int b = 0; b < q; b++) {
                        int xh = a * stride - pad + rr, xw = b * stride - pad + ss;
                        if (xh >= 0 && xh < h && xw >= 0 && xw < wd)
                            edw += (double) hdy[((img * k + kk) * p + a) * q + b]
                                    * hx[((img * c + cc) * h + xh) * wd + xw];
                    }
            check("y", hy[((i * k + kk) * p + oh) * q + ow], ey);
            check("dx", hdx[((i * c + cc) * h + ih) * wd + iw], edx);
            check("dw", hdw[((kk * c + cc) * r + rr) * r + ss], edw);
        }
    }

    private void check(String what, float got, double expected) {
        if (Math.abs(got - expected) > (tf32() ? 5e-2 + 1e-2 * Math.abs(expected) : 1e-3 + 1e-4 * Math.abs(expected)))
            throw new IllegalStateException("conv " + what + " = " + got + ", expected " + expected);
    }

    private float[] read(Buffer b) {
        float[] h = new float[(int) b.size()];
        backend.download(b, h, 0);
        return h;
    }

    @Benchmark
    public Buffer forward() {
        backend.conv2d(shape, x, w, y);
        backend.synchronize();
        return y;
    }

    /** A view of all of {@code b} when {@code heap}: a CPU buffer that is not a root stays on the heap. */
    private static Buffer view(Buffer b, boolean heap) { return heap ? b.slice(0, b.size()) : b; }

    @Benchmark
    public Buffer backwardData() {
        backend.fill(dx, 0f);
        backend.conv2dBackwardData(shape, dy, w, dx);
        backend.synchronize();
        return dx;
    }

    @Benchmark
    public Buffer backwardFilter() {
        backend.conv2dBackwardFilter(shape, x, dy, dw);
        backend.synchronize();
        return dw;
    }

    @TearDown
    public void tearDown() {
        closeBackend();
        System.clearProperty("jmoco.cpu.gemm");
    }
}
