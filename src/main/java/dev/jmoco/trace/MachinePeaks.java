package dev.jmoco.trace;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * What this machine can do, measured rather than looked up (clocks turbo and throttle, and the number of FMA
 * units per core is not exposed): the float FLOP rate of fused multiply-adds on the JVM's widest vectors,
 * {@value #CHAINS} independent chains per thread (two FMA pipes x a latency of up to 5 cycles), all threads at
 * once; and the copy bandwidth of arrays far larger than the caches, counted as
 * bytes read plus bytes written. These are the roofline's roof and slope.
 *
 * @param cpu         the processor's model name (/proc/cpuinfo), or the JVM's architecture
 * @param threads     threads measured together
 * @param lanes       floats per vector on this JVM (16 with AVX-512, 8 with AVX2)
 * @param flops       peak float FLOP/s measured
 * @param bytesPerSec copy bandwidth measured (read + write)
 */
public record MachinePeaks(String cpu, int threads, int lanes, double flops, double bytesPerSec) {
    static final int CHAINS = 10;
    /** The scalar fallback's chains: one float per FMA, so more of them to keep the pipes busy. */
    private static final int SCALAR_CHAINS = 12;
    private static final long COPY_FLOATS = 16L << 20; // 64 MB per array: past every L3 we run on
    /** A constant: the Vector API compiles to vector instructions only for species known at compile time. */
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    /** Measures with {@code threads} threads (one to three seconds: the FMA loop must be compiled first). */
    public static MachinePeaks measure(int threads) {
        int lanes;
        double flops;
        try {
            lanes = SPECIES.length();
            flops = parallel(threads, MachinePeaks::fmaRate);
        } catch (LinkageError noVectorApi) { // jdk.incubator.vector not added: plain scalar FMAs
            lanes = 1;
            flops = parallel(threads, MachinePeaks::scalarFmaRate);
        }
        return new MachinePeaks(cpuName(), threads, lanes, flops, parallel(threads, MachinePeaks::copyRate));
    }

    /** The roofline: the best rate work of this intensity (FLOPs per byte) can reach here, in FLOP/s. */
    public double attainable(double flopsPerByte) { return Math.min(flops, flopsPerByte * bytesPerSec); }

    /** One line for a report's header. */
    public String describe() {
        return String.format(Locale.ROOT, "%s, %d threads: peak %.1f GFLOP/s (measured: %d-float FMA chains x %d "
                + "per thread), copy %.1f GB/s (measured, read + write)", cpu, threads, flops / 1e9, lanes, CHAINS,
                bytesPerSec / 1e9);
    }

    private static double parallel(int threads, Callable<Double> rate) {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            // warm until two runs agree (compiled code, clocks up)
            double previous = 0;
            for (int i = 0; i < 20; i++) {
                double r = rate.call();
                if (i >= 2 && Math.abs(r - previous) < 0.05 * r) break;
                previous = r;
            }
            List<Future<Double>> all = new ArrayList<>();
            for (int i = 0; i < threads; i++) all.add(pool.submit(rate));
            double sum = 0;
            for (Future<Double> f : all) sum += f.get();
            return sum;
        } catch (Exception e) {
            throw new IllegalStateException("measuring the machine's peaks failed: " + e, e);
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * FLOP/s of CHAINS independent FMA chains: the best of repeated bursts once the burst is compiled. A burst
     * is one method with a counted loop and its vectors local (never passed, so never boxed), called many times
     * so the JIT compiles it whole rather than on stack (measured: an on-stack-compiled loop with a clock read
     * inside ran at 40% of this rate).
     */
    private static double fmaRate() {
        for (int i = 0; i < 200; i++) fmaBurst(1 << 12);
        double best = 0;
        long until = System.nanoTime() + 150_000_000L;
        while (System.nanoTime() < until) best = Math.max(best, fmaBurst(1 << 18));
        return best;
    }

    private static double fmaBurst(int reps) {
        VectorSpecies<Float> sp = SPECIES;
        FloatVector m = FloatVector.broadcast(sp, 0.999999f), c = FloatVector.broadcast(sp, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(sp, 1.0f), a1 = FloatVector.broadcast(sp, 1.1f),
                a2 = FloatVector.broadcast(sp, 1.2f), a3 = FloatVector.broadcast(sp, 1.3f),
                a4 = FloatVector.broadcast(sp, 1.4f), a5 = FloatVector.broadcast(sp, 1.5f),
                a6 = FloatVector.broadcast(sp, 1.6f), a7 = FloatVector.broadcast(sp, 1.7f),
                a8 = FloatVector.broadcast(sp, 1.8f), a9 = FloatVector.broadcast(sp, 1.9f);
        long t0 = System.nanoTime();
        for (int i = 0; i < reps; i++) {
            a0 = a0.fma(m, c); a1 = a1.fma(m, c); a2 = a2.fma(m, c); a3 = a3.fma(m, c); a4 = a4.fma(m, c);
            a5 = a5.fma(m, c); a6 = a6.fma(m, c); a7 = a7.fma(m, c); a8 = a8.fma(m, c); a9 = a9.fma(m, c);
        }
        long elapsed = Math.max(1, System.nanoTime() - t0);
        float sum = a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9)
                .reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
        if (sum == 42f) System.out.print(""); // keeps the chains alive
        return 2.0 * CHAINS * sp.length() * reps / (elapsed / 1e9);
    }

    private static double scalarFmaRate() {
        float a0 = 1, a1 = 1, a2 = 1, a3 = 1, a4 = 1, a5 = 1, a6 = 1, a7 = 1, a8 = 1, a9 = 1, a10 = 1, a11 = 1;
        float m = 0.999999f, c = 1e-7f;
        long iterations = 0, t0 = System.nanoTime(), elapsed;
        do {
            for (int i = 0; i < 4096; i++) {
                a0 = Math.fma(a0, m, c); a1 = Math.fma(a1, m, c); a2 = Math.fma(a2, m, c); a3 = Math.fma(a3, m, c);
                a4 = Math.fma(a4, m, c); a5 = Math.fma(a5, m, c); a6 = Math.fma(a6, m, c); a7 = Math.fma(a7, m, c);
                a8 = Math.fma(a8, m, c); a9 = Math.fma(a9, m, c); a10 = Math.fma(a10, m, c); a11 = Math.fma(a11, m, c);
            }
            iterations += 4096;
            elapsed = System.nanoTime() - t0;
        } while (elapsed < 200_000_000L);
        if (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 == 42f) System.out.print("");
        return 2.0 * SCALAR_CHAINS * iterations / (elapsed / 1e9);
    }

    /** Read + write bytes per second of System.arraycopy between two arrays far larger than the caches. */
    private static double copyRate() {
        float[] src = new float[(int) COPY_FLOATS], dst = new float[(int) COPY_FLOATS];
        java.util.Arrays.fill(src, 1f);
        System.arraycopy(src, 0, dst, 0, src.length); // touch every page
        int copies = 0;
        long t0 = System.nanoTime(), elapsed;
        do {
            System.arraycopy(src, 0, dst, 0, src.length);
            copies++;
            elapsed = System.nanoTime() - t0;
        } while (elapsed < 300_000_000L);
        return 2.0 * 4 * COPY_FLOATS * copies / (elapsed / 1e9);
    }

    private static String cpuName() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo")))
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).strip();
        } catch (IOException | RuntimeException notLinux) {
            // fall through
        }
        return System.getProperty("os.arch");
    }

    /**
     * Prints the peaks of {@code args[0]} threads (default: every processor) as one JSON object, for scripts
     * that report fractions of the machine (bench/compare.py).
     */
    public static void main(String[] args) {
        MachinePeaks p = measure(args.length > 0 ? Integer.parseInt(args[0]) : Runtime.getRuntime().availableProcessors());
        System.out.printf(Locale.ROOT, "{\"cpu\": %s, \"threads\": %d, \"lanes\": %d, \"flop\": %.6g, \"byte\": %.6g, "
                + "\"describe\": %s}%n", dev.jmoco.io.Json.quote(p.cpu()), p.threads(), p.lanes(), p.flops(),
                p.bytesPerSec(), dev.jmoco.io.Json.quote(p.describe()));
    }
}
