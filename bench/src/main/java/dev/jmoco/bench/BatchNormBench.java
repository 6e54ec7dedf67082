package dev.jmoco.bench;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.BatchNormShape;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.reference.ReferenceOps;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Training-mode batch norm forward and backward. Default shape: the batch norms of ResNet-18's first stage on
 * CIFAR at batch 256, [256, 64, 32, 32]; {@code groups} = 8 is MoCo's shuffle-BN emulation. Both passes are
 * memory-bound; the fewest bytes they can move are 12 per element forward (read x for the statistics, read x
 * again and write y), 8 in eval mode (read x, write y) and 24 backward (read x and dy for the sums, then read
 * x, dy, dx and write dx).
 */
public class BatchNormBench extends BenchBase {
    @Param({"256"}) public int n;
    @Param({"64"}) public int c;
    @Param({"1024"}) public int hw;
    @Param({"1"}) public int groups;

    private BatchNormShape shape;
    private Buffer x, gamma, beta, y, mean, invStd, runningMean, runningVar, dy, dx, dgamma, dbeta;

    @Setup
    public void setup() {
        openBackend();
        shape = new BatchNormShape(n, c, hw, groups);
        long size = shape.size();
        x = random(size, 1, 1);
        dy = random(size, 1, 2);
        gamma = random(c, 1, 3);
        beta = random(c, 1, 4);
        runningMean = random(c, 1, 5);
        runningVar = backend.allocate(c);
        backend.fill(runningVar, 1);
        y = backend.allocate(size);
        dx = backend.allocate(size);
        backend.fill(dx, 0);
        mean = backend.allocate(shape.statsSize());
        invStd = backend.allocate(shape.statsSize());
        dgamma = backend.allocate(c);
        dbeta = backend.allocate(c);
        backend.fill(dgamma, 0);
        backend.fill(dbeta, 0);
        verifyAgainstReference();
    }

    @Benchmark
    public Buffer train() {
        backend.batchNormTrain(shape, x, gamma, beta, y, mean, invStd, runningMean, runningVar, 0.1f, 1e-5f);
        backend.synchronize();
        return y;
    }

    @Benchmark
    public Buffer eval() {
        backend.batchNormEval(shape, x, gamma, beta, runningMean, runningVar, 1e-5f, y);
        backend.synchronize();
        return y;
    }

    @Benchmark
    public Buffer backward() {
        backend.batchNormBackward(shape, x, dy, gamma, mean, invStd, dx, dgamma, dbeta);
        backend.synchronize();
        return dx;
    }

    /** One forward and backward pass on this backend agrees with {@link ReferenceOps} (y and dx). */
    private void verifyAgainstReference() {
        int size = Math.toIntExact(shape.size());
        float[] hx = randomArray(size, 1, 1), hdy = randomArray(size, 1, 2), hg = randomArray(c, 1, 3);
        double[] y = new double[size], mean = new double[shape.statsSize()], invStd = new double[shape.statsSize()];
        double[] runningVar = new double[c];
        Arrays.fill(runningVar, 1);
        ReferenceOps.batchNormTrain(shape, hx, hg, randomArray(c, 1, 4), y, mean, invStd, new double[c], runningVar,
                0.1f, 1e-5f);
        double[] dx = new double[size];
        ReferenceOps.batchNormBackward(shape, hx, hdy, hg, ReferenceOps.narrow(mean),
                ReferenceOps.narrow(invStd), dx, new double[c], new double[c]);
        double[][] want = {y, dx};
        float[][] got = forwardBackward(backend);
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < got[k].length; i++)
                if (!(Math.abs(got[k][i] - want[k][i]) <= 1e-4 + 1e-4 * Math.abs(want[k][i])))
                    throw new IllegalStateException((k == 0 ? "y[" : "dx[") + i + "] = " + got[k][i] + ", reference "
                            + want[k][i]);
    }

    /** {y, dx} of one forward and backward pass on {@code be}, on fresh buffers seeded as in setup. */
    private float[][] forwardBackward(Backend be) {
        List<Buffer> roots = new ArrayList<>();
        IntFunction<Buffer> alloc = size -> {
            Buffer b = be.allocate(size);
            roots.add(b);
            be.fill(b, 0);
            return b;
        };
        int size = Math.toIntExact(shape.size());
        Buffer bx = alloc.apply(size), bdy = alloc.apply(size), bg = alloc.apply(c), bb = alloc.apply(c);
        be.upload(randomArray(size, 1, 1), 0, bx);
        be.upload(randomArray(size, 1, 2), 0, bdy);
        be.upload(randomArray(c, 1, 3), 0, bg);
        be.upload(randomArray(c, 1, 4), 0, bb);
        Buffer rm = alloc.apply(c), rv = alloc.apply(c), by = alloc.apply(size), bdx = alloc.apply(size);
        Buffer bm = alloc.apply(shape.statsSize()), bi = alloc.apply(shape.statsSize());
        be.fill(rv, 1);
        try {
            be.batchNormTrain(shape, bx, bg, bb, by, bm, bi, rm, rv, 0.1f, 1e-5f);
            be.batchNormBackward(shape, bx, bdy, bg, bm, bi, bdx, alloc.apply(c), alloc.apply(c));
            float[] hy = new float[size], hdx = new float[size];
            be.download(by, hy, 0);
            be.download(bdx, hdx, 0);
            return new float[][] {hy, hdx};
        } finally {
            roots.forEach(Buffer::close);
        }
    }

    @TearDown
    public void tearDown() { closeBackend(); }
}
