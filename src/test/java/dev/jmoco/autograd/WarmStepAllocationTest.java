package dev.jmoco.autograd;

import dev.jmoco.backend.PoolStats;
import dev.jmoco.backend.cpu.CpuBackend;
import dev.jmoco.moco.TinyEncoder;
import dev.jmoco.optim.Sgd;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.jmoco.autograd.GradientCheck.uniform;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A tiny MoCo step (query and key encoders conv-bn-relu-gap-linear-normalize in two arenas, shuffle-BN on the
 * key side, InfoNCE against a queue, backward, SGD, EMA, enqueue) allocates nothing from the system once warm,
 * and returns every buffer it takes.
 */
class WarmStepAllocationTest {
    private static final int N = 8, C = 3, HW = 6, WIDTH = 8, DIM = 16, K = 32;

    private static Tensor encode(ParameterArena p, Tensor x, int bnGroups) {
        Tensor y = Ops.conv2d(x, p.tensor("conv1.weight"), 1, 1);
        y = Ops.batchNorm2d(y, p.tensor("bn1.weight"), p.tensor("bn1.bias"), p.tensor("bn1.running_mean"),
                p.tensor("bn1.running_var"), bnGroups, 0.1f, 1e-5f);
        y = Ops.globalAvgPool(Ops.relu(y));
        return Ops.l2NormalizeRows(Ops.linear(y, p.tensor("fc.weight"), p.tensor("fc.bias")));
    }

    @Test
    void warmStepAllocatesNothingAndReturnsEverything() {
        Random r = new Random(3);
        try (CpuBackend backend = new CpuBackend();
             ParameterArena q = TinyEncoder.layout(C, WIDTH, DIM).build(backend, true);
             ParameterArena k = q.newLike(false);
             Sgd sgd = new Sgd(q, 0.03f, 0.9f, 1e-4f);
             Tensor xq = Tensor.allocate(backend, N, C, HW, HW);
             Tensor xk = Tensor.allocate(backend, N, C, HW, HW);
             Tensor queue = Tensor.fromArray(backend, uniform(r, K * DIM, 1), K, DIM)) {
            q.load("conv1.weight", uniform(r, WIDTH * C * 9, 0.3));
            q.load("bn1.weight", ones(WIDTH));
            q.load("bn1.running_var", ones(WIDTH));
            q.load("fc.weight", uniform(r, DIM * WIDTH, 0.3));
            k.copyFrom(q);
            float[] before = k.export("fc.weight");

            long liveAtStart = backend.poolStats().live();
            int ptr = 0;
            for (int step = 0; step < 3; step++) ptr = step(backend, q, k, sgd, xq, xk, queue, r, ptr);
            PoolStats warm = backend.poolStats();
            for (int step = 0; step < 5; step++) ptr = step(backend, q, k, sgd, xq, xk, queue, r, ptr);
            PoolStats after = backend.poolStats();

            assertEquals(warm.created(), after.created(), "buffers newly created by warm steps");
            assertEquals(liveAtStart, after.live(), "buffers still live after the steps");
            assertEquals(8 * N % K, ptr);
            assertNotEquals(before[0], k.export("fc.weight")[0], "the EMA moved the key encoder");
        }
    }

    /** One MoCo step; returns the advanced queue pointer. */
    private static int step(CpuBackend backend, ParameterArena q, ParameterArena k, Sgd sgd, Tensor xq, Tensor xk,
                            Tensor queue, Random r, int ptr) {
        xq.copyFrom(uniform(r, N * C * HW * HW, 1));
        xk.copyFrom(uniform(r, N * C * HW * HW, 1));
        int[] shuffle = permutation(r, N), unshuffle = new int[N];
        for (int i = 0; i < N; i++) unshuffle[shuffle[i]] = i;
        try (Tape tape = Tape.record()) {
            Tensor qv = encode(q, xq, 1);
            Tensor kv = Ops.gatherRows(encode(k, Ops.gatherRows(xk, shuffle), 2), unshuffle);
            assertFalse(kv.requiresGrad(), "the key encoder is not taped");
            Loss loss = Ops.infoNce(qv, kv, queue, 0.2f);
            q.zeroGrad();
            tape.backward(loss.value());
            assertTrue(Double.isFinite(loss.read().loss()));
            sgd.step();
            k.ema(0.99f, q);
            backend.enqueue(queue.data(), K, DIM, kv.data(), N, ptr);
        }
        return (ptr + N) % K;
    }

    private static int[] permutation(Random r, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = p[i]; p[i] = p[j]; p[j] = t;
        }
        return p;
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return v;
    }
}
