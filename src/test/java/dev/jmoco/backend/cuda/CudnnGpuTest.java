package dev.jmoco.backend.cuda;

import dev.jmoco.backend.cuda.libraries.Cudnn;
import dev.jmoco.backend.cuda.libraries.NativeLibraryAssumptions;
import dev.jmoco.backend.ConvShape;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static dev.jmoco.backend.cuda.CublasGpuTest.values;

/**
 * {@link Cudnn}'s three passes on a GPU (skipped without one, or without cuDNN) against plain double loops:
 * forward over a y full of NaN (beta 0 must not read it), both backward passes adding into random existing
 * gradients; operands 16-byte aligned and at odd float offsets (views: an engine that refuses those must give
 * way to another algorithm). Shapes: 3x3 pad 1, the 7x7 stride-2 pad-3 stem, 1x1 with stride 1 and 2.
 * Tolerance without TF32: abs 1e-3 + rel 1e-3 (float sums of at most 147 products of values in [-1, 1]; FFT
 * and Winograd algorithms round more than direct sums); with TF32: abs 5e-2 + rel 1e-2.
 */
class CudnnGpuTest {
    private static final List<ConvShape> SHAPES = List.of(
            new ConvShape(2, 3, 9, 9, 4, 3, 3, 1, 1),
            new ConvShape(2, 3, 15, 17, 8, 7, 7, 2, 3),
            new ConvShape(2, 8, 6, 6, 5, 1, 1, 1, 0),
            new ConvShape(1, 4, 7, 5, 6, 1, 1, 2, 0),
            new ConvShape(2, 16, 8, 8, 16, 3, 3, 1, 1));

    @Test
    void passesMatchTheReference() {
        NativeLibraryAssumptions.requireLoadable("cuDNN", List.of(Cudnn.SONAME));
        try (NativeTestDevice device = NativeTestDevice.openOrSkip()) {
            Cudnn.Workspace workspace = device.workspace();
            for (boolean tf32 : new boolean[] {false, true})
                try (Cudnn cudnn = Cudnn.open(device.stream.handle(), tf32)) {
                    Random random = new Random(11);
                    for (int offset : new int[] {0, 1})
                        for (ConvShape s : SHAPES) {
                            // Twice: the second run uses the cached descriptors and algorithm choices.
                            for (int run = 0; run < 2; run++)
                                check(device, workspace, cudnn, random, tf32, s, offset);
                        }
                }
        }
    }

    private static void check(NativeTestDevice device, Cudnn.Workspace workspace, Cudnn cudnn, Random random,
                              boolean tf32, ConvShape s, int offset) {
        float[] x = values(random, (int) s.inputSize()), w = values(random, (int) s.filterSize());
        float[] dy = values(random, (int) s.outputSize());
        float[] dx0 = values(random, (int) s.inputSize()), dw0 = values(random, (int) s.filterSize());
        double[] y = new double[(int) s.outputSize()];
        double[] dx = toDouble(dx0), dw = toDouble(dw0);
        int p = s.p(), q = s.q();
        for (int n = 0; n < s.n(); n++)
            for (int k = 0; k < s.k(); k++)
                for (int i = 0; i < p; i++)
                    for (int j = 0; j < q; j++) {
                        int yAt = ((n * s.k() + k) * p + i) * q + j;
                        for (int c = 0; c < s.c(); c++)
                            for (int r = 0; r < s.r(); r++)
                                for (int t = 0; t < s.s(); t++) {
                                    int h = i * s.stride() - s.pad() + r, v = j * s.stride() - s.pad() + t;
                                    if (h < 0 || h >= s.h() || v < 0 || v >= s.w()) continue;
                                    int xAt = ((n * s.c() + c) * s.h() + h) * s.w() + v;
                                    int wAt = ((k * s.c() + c) * s.r() + r) * s.s() + t;
                                    y[yAt] += (double) x[xAt] * w[wAt];
                                    dx[xAt] += (double) dy[yAt] * w[wAt];
                                    dw[wAt] += (double) dy[yAt] * x[xAt];
                                }
                    }
        float[] nan = new float[y.length];
        Arrays.fill(nan, Float.NaN);
        NativeTestDevice.Floats gx = device.upload(x, offset), gw = device.upload(w, 2 * offset);
        NativeTestDevice.Floats gy = device.upload(nan, 3 * offset), gdy = device.upload(dy, offset);
        NativeTestDevice.Floats gdx = device.upload(dx0, 3 * offset), gdw = device.upload(dw0, offset);
        cudnn.forward(s, gx.address(), gw.address(), gy.address(), workspace);
        cudnn.backwardData(s, gdy.address(), gw.address(), gdx.address(), workspace);
        cudnn.backwardFilter(s, gx.address(), gdy.address(), gdw.address(), workspace);
        String what = cudnn.describe() + " " + s + " offset " + offset;
        double abs = tf32 ? 5e-2 : 1e-3, rel = tf32 ? 1e-2 : 1e-3;
        Tolerance.assertClose(what + " forward", y, device.download(gy), abs, rel);
        Tolerance.assertClose(what + " backward data", dx, device.download(gdx), abs, rel);
        Tolerance.assertClose(what + " backward filter", dw, device.download(gdw), abs, rel);
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }
}
