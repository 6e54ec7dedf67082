package dev.jmoco.bench;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.reference.ReferenceOps;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The elementwise ops over a ResNet-18 stage-1 activation at batch 256 on CIFAR, [256, 64, 32, 32] =
 * 16,777,216 floats; addBias and biasBackward see it as a [size / cols, cols] matrix. All memory-bound; bytes
 * per element counted by {@code bench/compare.py}: relu 8 (read x, write y), reluBackward 16 (read y, dy, dx,
 * write dx), add 12 (read x, y, write out), addBias 8 (read and write y), biasBackward 4 (read dy).
 */
public class ElementwiseBench extends BenchBase {
    @Param({"16777216"}) public int size;
    @Param({"64"}) public int cols;

    private Buffer x, y, dy, dx, out, bias, dbias;

    @Setup
    public void setup() {
        openBackend();
        int rows = size / cols;
        float[] hx = randomArray(size, 1, 1), hdy = randomArray(size, 1, 2), hdx = randomArray(size, 1, 3);
        float[] hb = randomArray(cols, 1, 4);
        double[] relu = ReferenceOps.relu(hx, new double[size]);
        AgainstReference.check("relu", backend, 0, 0, relu, (be, io) -> {
            Buffer yy = io.zeros(size);
            be.relu(io.of(hx), yy);
            return io.read(yy);
        });
        // One float add per element: within half an ulp of the exact sum.
        AgainstReference.check("reluBackward", backend, 0, 1e-7,
                ReferenceOps.reluBackward(ReferenceOps.narrow(relu), hdy, ReferenceOps.widen(hdx)), (be, io) -> {
            Buffer yy = io.zeros(size), dxx = io.of(hdx);
            be.relu(io.of(hx), yy);
            be.reluBackward(yy, io.of(hdy), dxx);
            return io.read(dxx);
        });
        AgainstReference.check("add", backend, 1e-6, 1e-6, ReferenceOps.add(0.5, hx, -2, hdy, new double[size]),
                (be, io) -> {
            Buffer o = io.zeros(size);
            be.add(0.5f, io.of(hx), -2f, io.of(hdy), o);
            return io.read(o);
        });
        AgainstReference.check("addBias", backend, 0, 1e-7, ReferenceOps.addBias(rows, cols, hb, ReferenceOps.widen(hx)),
                (be, io) -> {
            Buffer yy = io.of(hx);
            be.addBias(rows, cols, io.of(hb), yy);
            return io.read(yy);
        });
        // Sums of 262,144 terms of size 1: float rounding errs by about 1e-3.
        AgainstReference.check("biasBackward", backend, 1e-2, 1e-4,
                ReferenceOps.biasBackward(rows, cols, hdy, ReferenceOps.widen(hb)), (be, io) -> {
            Buffer db = io.of(hb);
            be.biasBackward(rows, cols, io.of(hdy), db);
            return io.read(db);
        });
        x = random(size, 1, 1);
        dy = random(size, 1, 2);
        dx = random(size, 1, 3);
        y = backend.allocate(size);
        backend.relu(x, y);
        out = backend.allocate(size);
        backend.fill(out, 0);
        bias = random(cols, 1, 4);
        dbias = backend.allocate(cols);
        backend.fill(dbias, 0);
    }

    @Benchmark
    public Buffer relu() {
        backend.relu(x, y);
        backend.synchronize();
        return y;
    }

    @Benchmark
    public Buffer reluBackward() {
        backend.reluBackward(y, dy, dx);
        backend.synchronize();
        return dx;
    }

    @Benchmark
    public Buffer add() {
        backend.add(0.5f, x, -2f, dy, out);
        backend.synchronize();
        return out;
    }

    /** Adds into {@code out}, not into x, so the other benchmarks' inputs stay as set up. */
    @Benchmark
    public Buffer addBias() {
        backend.addBias(size / cols, cols, bias, out);
        backend.synchronize();
        return out;
    }

    @Benchmark
    public Buffer biasBackward() {
        backend.biasBackward(size / cols, cols, dy, dbias);
        backend.synchronize();
        return dbias;
    }

    @TearDown
    public void tearDown() {
        for (Buffer b : new Buffer[] {x, y, dy, dx, out, bias, dbias}) b.close();
        closeBackend();
    }
}
