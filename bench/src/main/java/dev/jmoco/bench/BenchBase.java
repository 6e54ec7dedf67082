package dev.jmoco.bench;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Backends;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.cuda.CudaBackend;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Settings shared by every jmoco benchmark (after Netty's AbstractMicrobenchmark): average time per
 * operation in milliseconds, one fork with the flags the engine needs, and a {@code device} parameter so
 * each benchmark runs on every backend asked for ({@code -p device=cpu,opencl:cpu}). Each benchmark checks
 * its result against a reference in its set-up before anything is timed. Rates (GFLOP/s, GB/s) are computed
 * by {@code bench/compare.py} from JMH's scores and the hand-counted FLOP and byte totals it holds for each
 * shape, next to the peers (PyTorch, numpy's BLAS) run on the same shapes in the same invocation.
 *
 * <p>Device ops may only be queued when they return, so every timed method ends with
 * {@link Backend#synchronize()}: the score is the time until the device has finished. An OpenCL driver (PoCL)
 * replaces the JVM's signal handlers; the forked JVM inherits the environment, so run device benchmarks as
 * {@code LD_PRELOAD=$JAVA_HOME/lib/libjsig.so java -jar benchmarks.jar ...} (CONTRIBUTING.md, Known hazards).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Xmx8g"})
public abstract class BenchBase {

    @Param({"cpu"})
    public String device;

    protected Backend backend;

    protected void openBackend() {
        backend = Backends.create(device);
        System.out.println("# " + device + ": " + backend);
        if (backend instanceof CudaBackend cuda) cuda.paths().forEach(p -> System.out.println("#   " + p));
    }

    /** Starts the GPU profile afresh ({@code -p device=cuda:profile}): set-up and checks are not counted. */
    protected void resetProfile() {
        if (backend instanceof CudaBackend cuda) cuda.resetProfile();
    }

    /** Prints the GPU time per kernel and library call per {@code unit} ({@code -p device=cuda:profile}). */
    protected void printProfile(String unit, long count) {
        if (backend instanceof CudaBackend cuda && cuda.profiling())
            System.out.print("# GPU profile, " + device + ", " + count + " " + unit + "s:\n" + cuda.profile(unit, count));
    }

    /**
     * Whether the device may round GEMM and convolution inputs to TF32 (10 mantissa bits, {@code cuda:tf32}):
     * a result check then allows about 2^-10 relative error per product, summed over sqrt(k) random-sign terms.
     */
    protected boolean tf32() { return device.contains("tf32"); }

    protected void closeBackend() { if (backend != null) backend.close(); }

    /** A buffer of uniform values in [-scale, scale), seeded. */
    protected Buffer random(long size, float scale, long seed) {
        float[] host = randomArray((int) size, scale, seed);
        Buffer b = backend.allocate(size);
        backend.upload(host, 0, b);
        return b;
    }

    protected static float[] randomArray(int size, float scale, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[size];
        for (int i = 0; i < size; i++) a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        return a;
    }
}
