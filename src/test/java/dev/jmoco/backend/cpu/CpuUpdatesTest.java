package dev.jmoco.backend.cpu;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * EMA, enqueue and SGD against {@link ReferenceOps}, on guarded views (offset handling and writes
 * past the end are caught). Sizes include ones that are not multiples of any vector width and ones above the
 * parallel grain, so both the split and the loop tails run; EMA and SGD run on the Vector API loops and on the
 * plain ones. Tolerances: EMA is two float products and a sum,
 * abs 1e-7 + rel 1e-6; SGD compounds five steps of three float operations, abs 1e-6 + rel 1e-5; enqueue is a
 * copy and must be exact.
 */
class CpuUpdatesTest {
    private static final boolean VECTOR_API = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    /** The updates on the Vector API loops or the plain ones; the former only where the module is present. */
    private static CpuUpdates updates(GuardedBuffers g, boolean vector) {
        assumeTrue(!vector || VECTOR_API, "jdk.incubator.vector is not present");
        return new CpuUpdates(g.backend.parallel, vector);
    }

    @ParameterizedTest(name = "m={0} size={1} vector={2}")
    @CsvSource({"0, 1, true", "0, 17, true", "0.5, 15, true", "0.5, 1000003, true", "0.999, 33, true",
            "0.999, 100000, true", "0.999, 1000003, true", "0.999, 33, false", "0.5, 1000003, false"})
    void emaMatchesReference(float m, int size, boolean vector) {
        Random random = new Random(size);
        float[] target = GuardedBuffers.uniform(random, size, -2, 2);
        float[] source = GuardedBuffers.uniform(random, size, -2, 2);
        double[] want = ReferenceOps.ema(m, ReferenceOps.widen(target), source);
        try (GuardedBuffers g = new GuardedBuffers(3)) {
            Buffer t = g.of(target), s = g.of(source);
            updates(g, vector).ema(m, (CpuBuffer) t, (CpuBuffer) s);
            Tolerance.assertClose("ema m=" + m, want, g.read(t), 1e-7, 1e-6);
            assertArrayEquals(source, g.read(s), "the source must not change");
            g.assertGuardsIntact();
        }
    }

    @ParameterizedTest(name = "capacity={0} n={1} ptr={2}")
    @CsvSource({
            "10, 3, 2",    // no wrap
            "10, 3, 7",    // ends exactly at the last row
            "10, 5, 8",    // wraps: 2 rows at the end, 3 at the start
            "10, 10, 0",   // n == capacity from the start: a plain overwrite
            "10, 10, 4",   // n == capacity, wrapping: rows 0..5 go to 4..9, rows 6..9 to 0..3
            "1, 1, 0"})
    void enqueueWritesRowsPtrToPtrPlusNModCapacity(int capacity, int n, int ptr) {
        int c = 3;
        float[] queue = new float[capacity * c], keys = new float[n * c];
        for (int i = 0; i < queue.length; i++) queue[i] = -1 - i;
        for (int i = 0; i < keys.length; i++) keys[i] = 1 + i;
        double[] enqueued = ReferenceOps.widen(queue);
        ReferenceOps.enqueue(enqueued, capacity, c, keys, n, ptr);
        float[] want = ReferenceOps.narrow(enqueued);
        try (GuardedBuffers g = new GuardedBuffers(2)) {
            Buffer q = g.of(queue), k = g.of(keys);
            g.backend.enqueue(q, capacity, c, k, n, ptr);
            assertArrayEquals(want, g.read(q));
            g.assertGuardsIntact();
        }
    }

    /** Several steps of PyTorch's SGD (dampening 0, no Nesterov) from a zero velocity, as a training loop runs. */
    @ParameterizedTest(name = "momentum={0} wd={1} size={2} vector={3}")
    @CsvSource({"0.9, 1e-4, 37, true", "0.9, 1e-4, 1000003, true", "0, 0, 19, true", "0.9, 0.05, 70001, true",
            "0, 1e-4, 5, true", "0.9, 1e-4, 37, false", "0.9, 0.05, 70001, false"})
    void sgdMatchesReferenceOverSeveralSteps(float momentum, float wd, int size, boolean vector) {
        float lr = 0.03f;
        int steps = 5;
        Random random = new Random(size);
        float[] param = GuardedBuffers.uniform(random, size, -1, 1);
        float[][] grads = new float[steps][];
        for (int s = 0; s < steps; s++) grads[s] = GuardedBuffers.uniform(random, size, -1, 1);
        double[] p = ReferenceOps.widen(param), v = new double[size];
        for (int s = 0; s < steps; s++) ReferenceOps.sgd(lr, momentum, wd, p, grads[s], v);
        try (GuardedBuffers g = new GuardedBuffers(3)) {
            Buffer bp = g.of(param), bv = g.of(new float[size]);
            for (int s = 0; s < steps; s++) {
                Buffer bg = g.of(grads[s]);
                updates(g, vector).sgd(lr, momentum, wd, (CpuBuffer) bp, (CpuBuffer) bg,
                        (CpuBuffer) bv);
                assertArrayEquals(grads[s], g.read(bg), "the gradient must not change");
            }
            Tolerance.assertClose("param", p, g.read(bp), 1e-6, 1e-5);
            Tolerance.assertClose("velocity", v, g.read(bv), 1e-6, 1e-5);
            g.assertGuardsIntact();
        }
    }

    /** The Vector API loops do the plain loops' arithmetic, so both give the same bits. */
    @Test
    void vectorAndPlainLoopsAgreeExactly() {
        int size = 100003;
        Random random = new Random(9);
        float[] a = GuardedBuffers.uniform(random, size, -1, 1), b = GuardedBuffers.uniform(random, size, -1, 1);
        float[] c = GuardedBuffers.uniform(random, size, -1, 1);
        float[][] results = new float[2][];
        for (int path = 0; path < 2; path++)
            try (GuardedBuffers g = new GuardedBuffers(2)) {
                CpuUpdates updates = updates(g, path == 0);
                CpuBuffer p = (CpuBuffer) g.of(a), grad = (CpuBuffer) g.of(b), v = (CpuBuffer) g.of(c);
                updates.sgd(0.03f, 0.9f, 1e-4f, p, grad, v);
                updates.ema(0.999f, v, p);
                results[path] = g.read(v);
            }
        assertArrayEquals(results[1], results[0]);
    }

    /** One step by hand: d = 2 + 0.5 * 4 = 4, v = 0.5 * 1 + 4 = 4.5, p = 4 - 0.1 * 4.5 = 3.55. */
    @Test
    void sgdStepByHand() {
        try (GuardedBuffers g = new GuardedBuffers(1)) {
            Buffer p = g.of(new float[] {4}), grad = g.of(new float[] {2}), v = g.of(new float[] {1});
            g.backend.sgd(0.1f, 0.5f, 0.5f, p, grad, v);
            assertArrayEquals(new float[] {3.55f}, g.read(p), 1e-6f);
            assertArrayEquals(new float[] {4.5f}, g.read(v));
        }
    }
}
