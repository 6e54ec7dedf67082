package dev.jmoco.bench;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.cpu.CpuBackend;
import dev.jmoco.backend.reference.ReferenceOps;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * SGEMM C = A B at m = n = k = 1024 (FLOPs: 2 m n k). On the CPU backend the {@code gemm} parameter picks the
 * path through the system property jmoco.cpu.gemm ({@code -p gemm=java,openblas}); the set-up prints which one
 * ran. On {@code -p device=opencl:cpu} (or opencl) it times the tiled kernel of kernels/gemm.cl; the timed
 * method waits for the device ({@code synchronize}), so each score is a whole GEMM. The peers are numpy's and
 * PyTorch's matmul on OpenBLAS (bench/peer.py).
 */
public class GemmBench extends BenchBase {
    @Param({"1024"}) public int size;
    /** CPU GEMM path: auto, java, openblas (ignored by other devices). */
    @Param({"auto"}) public String gemm;

    private Buffer a, b, c;

    @Setup
    public void setup() {
        System.setProperty("jmoco.cpu.gemm", gemm);
        openBackend();
        if (backend instanceof CpuBackend cpu) System.out.println("# cpu gemm: " + cpu.gemmImplementation());
        long elements = (long) size * size;
        a = random(elements, 1f, 1);
        b = random(elements, 1f, 2);
        c = backend.allocate(elements);
        sgemm();
        verify(randomArray((int) elements, 1f, 1), randomArray((int) elements, 1f, 2));
    }

    /**
     * 8 sampled rows of C against {@link ReferenceOps#gemm} of the same rows of A (abs 1e-4 + rel 1e-4, k = 1024
     * terms; with TF32 abs 5e-2 + rel 1e-2: sqrt(1024) x 2^-10 x E|ab| = 0.008 is one standard deviation of its
     * rounding).
     */
    private void verify(float[] ha, float[] hb) {
        float[] hc = new float[size * size];
        backend.download(c, hc, 0);
        SplittableRandom r = new SplittableRandom(3);
        for (int s = 0; s < 8; s++) {
            int i = r.nextInt(size);
            double[] row = ReferenceOps.gemm(false, false, 1, size, size, 1, Arrays.copyOfRange(ha, i * size,
                    (i + 1) * size), hb, 0, new double[size]);
            for (int j = 0; j < size; j++) {
                double ref = row[j];
                double tolerance = tf32() ? 5e-2 + 1e-2 * Math.abs(ref) : 1e-4 + 1e-4 * Math.abs(ref);
                if (Math.abs(hc[i * size + j] - ref) > tolerance)
                    throw new IllegalStateException("sgemm C[" + i + ", " + j + "] = " + hc[i * size + j]
                            + ", expected " + ref);
            }
        }
    }

    @Benchmark
    public Buffer sgemm() {
        backend.gemm(false, false, size, size, size, 1f, a, b, 0f, c);
        backend.synchronize();
        return c;
    }

    @TearDown
    public void tearDown() {
        closeBackend();
        System.clearProperty("jmoco.cpu.gemm");
    }
}
