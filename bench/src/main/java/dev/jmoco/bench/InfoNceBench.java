package dev.jmoco.bench;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.reference.ReferenceOps;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The fused InfoNCE forward + backward at MoCo's shape (n = 256, c = 128, K = 65536, t = 0.07, unit rows),
 * dk omitted as in MoCo (the key encoder gets no gradient). FLOPs counted: 4 n K c (the logits and dq
 * products); {@code bench/compare.py} turns the time into GFLOP/s. The PyTorch peer runs the reference MoCo
 * computation (einsum, cat, /t, cross_entropy, backward).
 *
 * <p>Runs on every backend named by {@code -p device=cpu,opencl:cpu}: the measured method waits for the device
 * ({@link dev.jmoco.backend.Backend#synchronize}), so a queued GPU launch is not timed as free. An OpenCL
 * device needs the JVM started with {@code LD_PRELOAD=$JAVA_HOME/lib/libjsig.so} (see CONTRIBUTING.md, Known hazards).
 */
public class InfoNceBench extends BenchBase {
    @Param({"256"}) public int n;
    @Param({"128"}) public int c;
    @Param({"65536"}) public int kq;
    @Param({"0.07"}) public float t;

    private Buffer q, k, queue, stats, dq;
    private long calls;

    @Setup
    public void setup() {
        openBackend();
        float[] hq = unitRows(n, c, 1), hk = unitRows(n, c, 2), hqueue = unitRows(kq, c, 3);
        q = upload(hq); k = upload(hk); queue = upload(hqueue);
        stats = backend.allocate(3);
        dq = backend.allocate((long) n * c);
        forwardBackward();
        float[] s = new float[3], got = new float[n * c];
        backend.download(stats, s, 0);
        backend.download(dq, got, 0);
        if (!(s[0] > 0 && s[0] < Math.log(kq + 1.0) + 2 / t))
            throw new IllegalStateException("InfoNCE loss " + s[0] + " is implausible");
        for (int row : new int[] {0, n / 2, n - 1}) checkRow(row, hq, hk, hqueue, got);
        resetProfile();
    }

    /**
     * dq of row i against {@link ReferenceOps#infoNce} on that row alone (a row's loss depends on its own q and
     * k only; gradScale 1 / n makes its gradient the batch mean's): abs 1e-5 of the gradient scale 1 / (n t) +
     * rel 1e-4; with TF32 (cuda:tf32) abs 2e-3 of the scale + rel 2e-2: rounding q and the queue to 10 mantissa
     * bits moves each logit by about 2^-10 / sqrt(c) / t = 1.2e-3 at t = 0.07, and each probability by as much,
     * relatively.
     */
    private void checkRow(int i, float[] hq, float[] hk, float[] hqueue, float[] got) {
        float[] qi = Arrays.copyOfRange(hq, i * c, (i + 1) * c), ki = Arrays.copyOfRange(hk, i * c, (i + 1) * c);
        double[] want = new double[c];
        ReferenceOps.infoNce(1, c, kq, t, qi, ki, hqueue, 1.0 / n, new double[3], want, null);
        double scale = 1.0 / (n * (double) t);
        for (int cc = 0; cc < c; cc++) {
            double g = want[cc];
            double tolerance = tf32() ? 2e-3 * scale + 2e-2 * Math.abs(g) : 1e-5 * scale + 1e-4 * Math.abs(g);
            if (Math.abs(got[i * c + cc] - g) > tolerance)
                throw new IllegalStateException("InfoNCE dq[" + i + ", " + cc + "] = " + got[i * c + cc]
                        + ", expected " + g);
        }
    }

    private Buffer upload(float[] host) {
        Buffer b = backend.allocate(host.length);
        backend.upload(host, 0, b);
        return b;
    }

    private static float[] unitRows(int rows, int cols, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[rows * cols];
        for (int i = 0; i < rows; i++) {
            double norm = 0;
            for (int j = 0; j < cols; j++) {
                double v = r.nextDouble() * 2 - 1;
                x[i * cols + j] = (float) v;
                norm += v * v;
            }
            for (int j = 0; j < cols; j++) x[i * cols + j] = (float) (x[i * cols + j] / Math.sqrt(norm));
        }
        return x;
    }

    @Benchmark
    public Buffer forwardBackward() {
        backend.infoNce(n, c, kq, t, q, k, queue, 1f, stats, dq, null);
        backend.synchronize();
        calls++;
        return dq;
    }

    @TearDown
    public void tearDown() {
        printProfile("call", calls);
        closeBackend();
    }
}
