package dev.jmoco.nn;

import dev.jmoco.autograd.Loss;
import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.optim.Sgd;
import dev.jmoco.autograd.Tape;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.PoolStats;
import dev.jmoco.backend.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A MoCo-shaped training step of the small CNN with the v2 head (query forward in training mode, key forward
 * with 2 batch-norm groups, InfoNCE, backward, SGD, EMA) creates no new buffers once warm and returns every
 * buffer it takes; and it learns: the loss on a fixed pair of views falls.
 */
class SmallCnnWarmStepTest {
    private static final int N = 8, DIM = 16, K = 32;

    @Test
    void warmStepAllocatesNothing() {
        Architecture arch = Encoders.create("small", Stem.CIFAR, 1, HeadKind.V2, DIM);
        Random r = new Random(9);
        try (CpuBackend backend = new CpuBackend();
             ParameterArena q = NnTesting.arena(backend, arch, true);
             ParameterArena k = q.newLike(false);
             Sgd sgd = new Sgd(q, 0.05f, 0.9f, 1e-4f);
             Tensor xq = NnTesting.images(backend, r, N, 1, 28, 28);
             Tensor xk = NnTesting.images(backend, r, N, 1, 28, 28);
             Tensor queue = Tensor.fromArray(backend, NnTesting.uniform(r, K * DIM, 1), K, DIM)) {
            k.copyFrom(q);
            Encoder fq = arch.bind(q), fk = arch.bind(k);
            long liveAtStart = backend.poolStats().live();
            double first = step(fq, fk, q, k, sgd, xq, xk, queue);
            step(fq, fk, q, k, sgd, xq, xk, queue);
            PoolStats warm = backend.poolStats();
            double last = 0;
            for (int i = 0; i < 4; i++) last = step(fq, fk, q, k, sgd, xq, xk, queue);
            PoolStats after = backend.poolStats();
            assertEquals(warm.created(), after.created(), "buffers newly created by warm steps");
            assertEquals(liveAtStart, after.live(), "buffers still live after the steps");
            assertTrue(last < first, "loss " + first + " -> " + last);
        }
    }

    private static double step(Encoder fq, Encoder fk, ParameterArena q, ParameterArena k, Sgd sgd, Tensor xq,
                               Tensor xk, Tensor queue) {
        try (Tape tape = Tape.record()) {
            Tensor qv = Ops.l2NormalizeRows(fq.forward(xq, Mode.TRAIN));
            Tensor kv = Ops.l2NormalizeRows(fk.forward(xk, Mode.train(2)));
            Loss loss = Ops.infoNce(qv, kv, queue, 0.2f);
            q.zeroGrad();
            tape.backward(loss.value());
            sgd.step();
            k.ema(0.99f, q);
            return loss.read().loss();
        }
    }
}
