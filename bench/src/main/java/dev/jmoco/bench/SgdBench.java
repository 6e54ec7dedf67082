package dev.jmoco.bench;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.reference.ReferenceOps;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One fused SGD step (momentum 0.9, weight decay 1e-4, PyTorch semantics) over a whole parameter arena.
 * Bytes moved: 20 per element (read param, grad, velocity; write param, velocity).
 */
public class SgdBench extends BenchBase {
    @Param({"11176512"}) public int size;

    private static final float LR = 0.03f, MOMENTUM = 0.9f, WD = 1e-4f;
    private Buffer param, grad, velocity;

    @Setup
    public void setup() {
        openBackend();
        float[] p = randomArray(size, 1, 1), g = randomArray(size, 1, 2), v = randomArray(size, 1, 3);
        param = random(size, 1, 1);
        grad = random(size, 1, 2);
        velocity = random(size, 1, 3);
        backend.sgd(LR, MOMENTUM, WD, param, grad, velocity);
        float[] gotP = new float[size], gotV = new float[size];
        backend.download(param, gotP, 0);
        backend.download(velocity, gotV, 0);
        double[] wantP = ReferenceOps.widen(p), wantV = ReferenceOps.widen(v);
        ReferenceOps.sgd(LR, MOMENTUM, WD, wantP, g, wantV);
        for (int i = 0; i < size; i++) {
            double vi = wantV[i], pi = wantP[i];
            if (Math.abs(gotV[i] - vi) > 1e-6 + 1e-6 * Math.abs(vi)
                    || Math.abs(gotP[i] - pi) > 1e-6 + 1e-6 * Math.abs(pi))
                throw new IllegalStateException("sgd[" + i + "]: param " + gotP[i] + " velocity " + gotV[i]
                        + ", expected " + pi + " and " + vi);
        }
    }

    @Benchmark
    public Buffer sgd() {
        backend.sgd(LR, MOMENTUM, WD, param, grad, velocity);
        backend.synchronize();
        return param;
    }

    @TearDown
    public void tearDown() { closeBackend(); }
}
