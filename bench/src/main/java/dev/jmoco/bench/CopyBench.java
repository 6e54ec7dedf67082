package dev.jmoco.bench;

import dev.jmoco.backend.Buffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

import java.util.Arrays;

/**
 * The machine's copy bandwidth, the yardstick of the memory-bound updates ({@link EmaBench}, {@link SgdBench}):
 * {@code copy} through Backend.copy, and {@code arraycopy} with System.arraycopy on plain arrays as a
 * cross-check. Bytes moved: 8 per element (read 1, write 1). Same default size as EmaBench.
 */
public class CopyBench extends BenchBase {
    @Param({"11176512"}) public int size;

    private Buffer src, dst;
    private float[] hostSrc, hostDst;

    @Setup
    public void setup() {
        openBackend();
        hostSrc = randomArray(size, 1, 1);
        hostDst = new float[size];
        src = random(size, 1, 1);
        dst = backend.allocate(size);
        backend.copy(src, dst);
        float[] got = new float[size];
        backend.download(dst, got, 0);
        if (!Arrays.equals(got, hostSrc)) throw new IllegalStateException("Backend.copy changed the data");
    }

    @Benchmark
    public Buffer copy() {
        backend.copy(src, dst);
        backend.synchronize();
        return dst;
    }

    @Benchmark
    public float[] arraycopy() {
        System.arraycopy(hostSrc, 0, hostDst, 0, size);
        return hostDst;
    }

    @TearDown
    public void tearDown() { closeBackend(); }
}
