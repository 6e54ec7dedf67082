package dev.jmoco.bench;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.PoolShape;
import dev.jmoco.backend.reference.ReferenceOps;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Pooling at batch 256 on ResNet-18 shapes: the stem's max pool (3 x 3, stride 2, pad 1) over a
 * [n, c, hw, hw] = [256, 64, 32, 32] activation (ImageNet ResNet-18's window on the CIFAR-sized stage-1 map;
 * the CIFAR stem has no max pool), and the global average pool over the last stage, [n, gc, ghw] =
 * [256, 512, 4 x 4]. Memory-bound; bytes counted by {@code bench/compare.py}: maxPool 4 per input and 8 per
 * output (y and argmax), maxPoolBackward 8 per output (dy, argmax) and 8 per input (dx read and written),
 * globalAvgPool 4 per input, globalAvgPoolBackward 8 per input (dx read and written).
 */
public class PoolingBench extends BenchBase {
    @Param({"256"}) public int n;
    @Param({"64"}) public int c;
    @Param({"32"}) public int hw;
    @Param({"512"}) public int gc;
    @Param({"16"}) public int ghw;

    private PoolShape pool;
    private Buffer x, y, argmax, dy, dx, gx, gy, gdy, gdx;

    @Setup
    public void setup() {
        openBackend();
        pool = new PoolShape(n, c, hw, hw, 3, 2, 1);
        int in = Math.toIntExact(pool.inputSize()), out = Math.toIntExact(pool.outputSize()), gin = n * gc * ghw;
        float[] hx = randomArray(in, 1, 1), hdy = randomArray(out, 1, 2), hdx = randomArray(in, 1, 3);
        float[] hgx = randomArray(gin, 1, 4), hgdy = randomArray(n * gc, 1, 5), hgdx = randomArray(gin, 1, 6);
        // Max and argmax are exact; dx adds one dy per window that picked an input (at most 4 terms here).
        double[] my = new double[out], myArgmax = new double[out];
        ReferenceOps.maxPool(pool, hx, my, myArgmax);
        double[] mdx = ReferenceOps.maxPoolBackward(pool, hdy, ReferenceOps.narrow(myArgmax), ReferenceOps.widen(hdx));
        AgainstReference.check("maxPool + maxPoolBackward", backend, 1e-6, 1e-6, AgainstReference.concat(my, myArgmax, mdx),
                (be, io) -> {
            Buffer yy = io.zeros(out), am = io.zeros(out), dxx = io.of(hdx);
            be.maxPool(pool, io.of(hx), yy, am);
            be.maxPoolBackward(pool, io.of(hdy), am, dxx);
            return io.read(yy, am, dxx);
        });
        // Means of 16 terms, and one add per element.
        double[] gap = AgainstReference.concat(ReferenceOps.globalAvgPool(n, gc, ghw, hgx, new double[n * gc]),
                ReferenceOps.globalAvgPoolBackward(n, gc, ghw, hgdy, ReferenceOps.widen(hgdx)));
        AgainstReference.check("globalAvgPool + globalAvgPoolBackward", backend, 1e-6, 1e-5, gap, (be, io) -> {
            Buffer yy = io.zeros(n * gc), dxx = io.of(hgdx);
            be.globalAvgPool(n, gc, ghw, io.of(hgx), yy);
            be.globalAvgPoolBackward(n, gc, ghw, io.of(hgdy), dxx);
            return io.read(yy, dxx);
        });
        x = random(in, 1, 1);
        dy = random(out, 1, 2);
        dx = random(in, 1, 3);
        y = backend.allocate(out);
        argmax = backend.allocate(out);
        backend.maxPool(pool, x, y, argmax);
        gx = random(gin, 1, 4);
        gdy = random(n * gc, 1, 5);
        gdx = random(gin, 1, 6);
        gy = backend.allocate(n * gc);
    }

    @Benchmark
    public Buffer maxPool() {
        backend.maxPool(pool, x, y, argmax);
        backend.synchronize();
        return y;
    }

    @Benchmark
    public Buffer maxPoolBackward() {
        backend.maxPoolBackward(pool, dy, argmax, dx);
        backend.synchronize();
        return dx;
    }

    @Benchmark
    public Buffer globalAvgPool() {
        backend.globalAvgPool(n, gc, ghw, gx, gy);
        backend.synchronize();
        return gy;
    }

    @Benchmark
    public Buffer globalAvgPoolBackward() {
        backend.globalAvgPoolBackward(n, gc, ghw, gdy, gdx);
        backend.synchronize();
        return gdx;
    }

    @TearDown
    public void tearDown() {
        for (Buffer b : new Buffer[] {x, y, argmax, dy, dx, gx, gy, gdy, gdx}) b.close();
        closeBackend();
    }
}
