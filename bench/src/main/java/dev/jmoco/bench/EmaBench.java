package dev.jmoco.bench;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.reference.ReferenceOps;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The momentum-encoder update over a whole parameter arena: target = m target + (1 - m) source, m = 0.999.
 * Default size: ResNet-18's parameter count. Bytes moved: 12 per element (read 2, write 1); compare with
 * {@link CopyBench} (8 per element) for the share of the machine's bandwidth.
 */
public class EmaBench extends BenchBase {
    @Param({"11176512"}) public int size;

    private Buffer target, source;

    @Setup
    public void setup() {
        openBackend();
        float[] t = randomArray(size, 1, 1), s = randomArray(size, 1, 2);
        target = random(size, 1, 1);
        source = random(size, 1, 2);
        float m = 0.999f;
        backend.ema(m, target, source);
        float[] got = new float[size];
        backend.download(target, got, 0);
        double[] want = ReferenceOps.ema(m, ReferenceOps.widen(t), s);
        for (int i = 0; i < size; i++)
            if (Math.abs(got[i] - want[i]) > 1e-6 + 1e-6 * Math.abs(want[i]))
                throw new IllegalStateException("ema[" + i + "] = " + got[i] + ", expected " + want[i]);
    }

    @Benchmark
    public Buffer ema() {
        backend.ema(0.999f, target, source);
        backend.synchronize();
        return target;
    }

    @TearDown
    public void tearDown() { closeBackend(); }
}
