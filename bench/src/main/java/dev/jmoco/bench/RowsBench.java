package dev.jmoco.bench;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.reference.ReferenceOps;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

import java.util.SplittableRandom;

/**
 * The row ops of a MoCo step on its [rows, cols] = [256, 128] embeddings: l2NormalizeRows and its backward,
 * the batch shuffle's gatherRows and its backward scatterRows (accumulate) with a random permutation, and the
 * enqueue of the keys into a [capacity, cols] = [4096, 128] queue at a pointer that makes it wrap. Small: the
 * time is mostly launch and synchronisation. Bytes counted by {@code bench/compare.py}, per element of
 * [rows, cols]: l2NormalizeRows 8, backward 16 (read y, dy, dx, write dx), gatherRows 8, scatterRows 12
 * (read src and dst, write dst), enqueue 8.
 */
public class RowsBench extends BenchBase {
    @Param({"256"}) public int rows;
    @Param({"128"}) public int cols;
    @Param({"4096"}) public int capacity;

    private int[] perm;
    private int ptr;
    private Buffer x, y, norms, dy, dx, shuffled, queue;

    @Setup
    public void setup() {
        openBackend();
        int size = rows * cols;
        perm = permutation(rows, 7);
        ptr = capacity - rows / 2;
        float[] hx = randomArray(size, 1, 1), hdy = randomArray(size, 1, 2), hdx = randomArray(size, 1, 3);
        float[] hq = randomArray(capacity * cols, 1, 4);
        // Norms are sums of 128 squares; the backward's dot product has 128 terms.
        double[] ly = new double[size], ln = new double[rows];
        ReferenceOps.l2NormalizeRows(rows, cols, hx, ly, ln);
        double[] ldx = ReferenceOps.l2NormalizeRowsBackward(rows, cols, ReferenceOps.narrow(ly),
                ReferenceOps.narrow(ln), hdy, ReferenceOps.widen(hdx));
        AgainstReference.check("l2NormalizeRows + backward", backend, 1e-6, 1e-5, AgainstReference.concat(ly, ln, ldx),
                (be, io) -> {
            Buffer yy = io.zeros(size), nn = io.zeros(rows), dxx = io.of(hdx);
            be.l2NormalizeRows(rows, cols, io.of(hx), yy, nn);
            be.l2NormalizeRowsBackward(rows, cols, yy, nn, io.of(hdy), dxx);
            return io.read(yy, nn, dxx);
        });
        double[] gs = AgainstReference.concat(ReferenceOps.gatherRows(cols, hx, perm, new double[size]),
                ReferenceOps.scatterRows(cols, hdy, perm, ReferenceOps.widen(hdx), true));
        AgainstReference.check("gatherRows + scatterRows(accumulate)", backend, 1e-6, 1e-6, gs, (be, io) -> {
            Buffer g = io.zeros(size), s = io.of(hdx);
            be.gatherRows(cols, io.of(hx), perm, g);
            be.scatterRows(cols, io.of(hdy), perm, s, true);
            return io.read(g, s);
        });
        double[] enqueued = ReferenceOps.widen(hq);
        ReferenceOps.enqueue(enqueued, capacity, cols, hx, rows, ptr);
        AgainstReference.check("enqueue", backend, 0, 0, enqueued, (be, io) -> {
            Buffer q = io.of(hq);
            be.enqueue(q, capacity, cols, io.of(hx), rows, ptr);
            return io.read(q);
        });
        x = random(size, 1, 1);
        dy = random(size, 1, 2);
        dx = random(size, 1, 3);
        y = backend.allocate(size);
        norms = backend.allocate(rows);
        backend.l2NormalizeRows(rows, cols, x, y, norms);
        shuffled = backend.allocate(size);
        queue = random((long) capacity * cols, 1, 4);
    }

    private static int[] permutation(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1), t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    @Benchmark
    public Buffer l2NormalizeRows() {
        backend.l2NormalizeRows(rows, cols, x, y, norms);
        backend.synchronize();
        return y;
    }

    @Benchmark
    public Buffer l2NormalizeRowsBackward() {
        backend.l2NormalizeRowsBackward(rows, cols, y, norms, dy, dx);
        backend.synchronize();
        return dx;
    }

    @Benchmark
    public Buffer gatherRows() {
        backend.gatherRows(cols, x, perm, shuffled);
        backend.synchronize();
        return shuffled;
    }

    @Benchmark
    public Buffer scatterRows() {
        backend.scatterRows(cols, dy, perm, dx, true);
        backend.synchronize();
        return dx;
    }

    @Benchmark
    public Buffer enqueue() {
        backend.enqueue(queue, capacity, cols, x, rows, ptr);
        backend.synchronize();
        return queue;
    }

    @TearDown
    public void tearDown() {
        for (Buffer b : new Buffer[] {x, y, norms, dy, dx, shuffled, queue}) b.close();
        closeBackend();
    }
}
