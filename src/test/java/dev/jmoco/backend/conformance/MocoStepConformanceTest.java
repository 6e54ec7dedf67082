package dev.jmoco.backend.conformance;

import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.optim.Sgd;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.conformance.ConformanceBackends.Target;
import dev.jmoco.moco.ContrastiveStep;
import dev.jmoco.moco.Mechanism;
import dev.jmoco.moco.MocoConfig;
import dev.jmoco.moco.MocoStep;
import dev.jmoco.nn.Architecture;
import dev.jmoco.nn.Encoder;
import dev.jmoco.nn.Encoders;
import dev.jmoco.nn.HeadKind;
import dev.jmoco.nn.Mode;
import dev.jmoco.nn.Stem;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Random;

import static dev.jmoco.backend.conformance.ConformanceBackends.uniform;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Whole MoCo v2 steps on each backend under test against the CPU backend, from the same weights, views and
 * seed (so the same shuffle-BN permutation): the small CNN, batch 32 in 4 BN groups, K 256, t 0.2, SGD with
 * momentum and weight decay. After three steps the loss of each step, f_q (after SGD), f_k (after the momentum
 * update) and the queue (after three enqueues) must agree. This is every op of a training step composed,
 * forward and backward, including the key encoder and the state updates.
 * <p>
 * Tolerances, from a float32 network whose sums run in another order on each backend: each step's loss within
 * 1e-4 relative; weights within 1e-5 absolute + 1e-3 relative (one SGD step at lr 0.05 moves a weight by
 * lr x grad, and the gradients agree to about 1e-4 relative, so weights differ by far less); the queue's
 * unit-norm keys within 2e-4 absolute. Measured on PoCL: see the class's test output.
 */
class MocoStepConformanceTest {
    @RegisterExtension static final ConformanceBackends backends = new ConformanceBackends();

    private static final int BATCH = 32, DIM = 128, QUEUE = 256, SPLITS = 4, STEPS = 3;

    /** What a run leaves to compare. */
    private record Run(double[] losses, float[] query, float[] key, float[] queue) {}

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.jmoco.backend.conformance.ConformanceBackends#targets")
    void threeStepsMatchTheCpu(Target t) {
        Random r = new Random(11);
        float[] x1 = uniform(r, BATCH * 28 * 28, -1, 1), x2 = uniform(r, BATCH * 28 * 28, -1, 1);
        Run cpu = run(t.cpu(), x1, x2), device = run(t.device(), x1, x2);
        System.out.printf("%s: worst error / threshold: loss %.3f, f_q %.3f, f_k %.3f, queue %.3f%n", t,
                worst(cpu.losses(), device.losses(), 0, 1e-4), worst(cpu.query(), device.query(), 1e-5, 1e-3),
                worst(cpu.key(), device.key(), 1e-5, 1e-3), worst(cpu.queue(), device.queue(), 2e-4, 0));
        Tolerance.assertClose(t + " loss per step", cpu.losses(), device.losses(), 0, 1e-4);
        Tolerance.assertClose(t + " f_q after SGD", cpu.query(), device.query(), 1e-5, 1e-3);
        Tolerance.assertClose(t + " f_k after the momentum update", cpu.key(), device.key(), 1e-5, 1e-3);
        Tolerance.assertClose(t + " queue", cpu.queue(), device.queue(), 2e-4, 0);
        // The steps must have done something for the comparison to mean anything: f_q moved, the queue filled.
        assertFalse(java.util.Arrays.equals(cpu.query(), cpu.key()), "f_q and f_k identical after 3 steps");
    }

    private static double worst(double[] expected, double[] actual, double abs, double rel) {
        float[] a = new float[actual.length];
        for (int i = 0; i < a.length; i++) a[i] = (float) actual[i];
        return Tolerance.worstRatio(expected, a, abs, rel);
    }

    private static double worst(float[] expected, float[] actual, double abs, double rel) {
        double[] e = new double[expected.length];
        for (int i = 0; i < e.length; i++) e[i] = expected[i];
        return Tolerance.worstRatio(e, actual, abs, rel);
    }

    private static Run run(Backend b, float[] x1, float[] x2) {
        Architecture arch = Encoders.create("small", Stem.CIFAR, 1, HeadKind.V2, DIM);
        MocoConfig config = MocoConfig.builder().mechanism(Mechanism.MOCO).dim(DIM).queueSize(QUEUE).temperature(0.2f).momentum(0.9f)
                .bnSplits(SPLITS).seed(3).build();
        try (ParameterArena query = arch.arenaLayout().build(b, true);
             ParameterArena key = query.newLike(false);
             Sgd sgd = new Sgd(query, 0.05f, 0.9f, 5e-4f);
             Tensor v1 = Tensor.allocate(b, BATCH, 1, 28, 28);
             Tensor v2 = Tensor.allocate(b, BATCH, 1, 28, 28)) {
            arch.initialize(query, 5);
            key.copyFrom(query);
            Encoder fq = arch.bind(query), fk = arch.bind(key);
            b.upload(x1, 0, v1.data());
            b.upload(x2, 0, v2.data());
            try (ContrastiveStep step = ContrastiveStep.create(config, (params, images, groups) ->
                    (params == query ? fq : fk).forward(images, Mode.train(groups)), query, key, sgd)) {
                double[] losses = new double[STEPS];
                for (int s = 0; s < STEPS; s++) losses[s] = step.step(v1, v2, null).loss();
                Tensor queue = ((MocoStep) step).queue().keys();
                assertEquals((long) QUEUE * DIM, queue.data().size());
                return new Run(losses, read(b, query.data()), read(b, key.data()), read(b, queue.data()));
            }
        }
    }

    private static float[] read(Backend b, Buffer buffer) {
        float[] out = new float[Math.toIntExact(buffer.size())];
        b.download(buffer, out, 0);
        return out;
    }
}
