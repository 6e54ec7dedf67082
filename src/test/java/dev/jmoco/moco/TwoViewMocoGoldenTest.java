package dev.jmoco.moco;

import dev.jmoco.autograd.Loss;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.cpu.CpuBackend;
import dev.jmoco.io.Safetensors;
import dev.jmoco.optim.Sgd;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

import static dev.jmoco.moco.MocoGoldenTest.data;
import static dev.jmoco.moco.MocoGoldenTest.integer;
import static dev.jmoco.moco.MocoGoldenTest.number;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Two steps of CMC's two-view MoCo (L and ab views, an encoder, momentum encoder and queue per view, each view's
 * queries against the other's keys) against PyTorch's (tools/golden/make_cmc_fixtures.py): loss and accuracies,
 * every gradient, both query and key encoders and both queues after each step. Tolerances as MocoGoldenTest's.
 */
class TwoViewMocoGoldenTest {
    private static final double LOSS = 1e-6, GRAD_ABS = 2e-6, GRAD_REL = 2e-5, STATE_ABS = 1e-7, STATE_REL = 1e-6,
            KEY_ABS = 3e-7, KEY_REL = 3e-6;

    @Test
    void matchesPyTorch() throws IOException, URISyntaxException {
        Safetensors.Contents f = Safetensors.read(Path.of(Objects.requireNonNull(
                TwoViewMocoGoldenTest.class.getResource("/golden/moco/cmc_lab.safetensors")).toURI()));
        Map<String, String> meta = f.metadata();
        MocoConfig config = MocoConfig.builder().mechanism(Mechanism.MOCO).dim(integer(meta, "dim"))
                .queueSize(integer(meta, "queue_size"))
                .temperature(number(meta, "t")).momentum(number(meta, "m")).bnSplits(integer(meta, "bn_splits")).build();
        long[] shape = f.tensors().get("x_l_0").shape();
        int n = (int) shape[0], hw = (int) shape[2];
        int width = (int) f.tensors().get("l.conv1.weight_init").shape()[0];
        int ptr = f.tensors().get("queue_ptr_init").toIntArray()[0];
        float lr = number(meta, "lr"), momentum = number(meta, "momentum"), wd = number(meta, "weight_decay");
        try (CpuBackend backend = new CpuBackend();
             ParameterArena ql = TinyEncoder.layout(1, width, config.dim()).build(backend, true);
             ParameterArena kl = ql.newLike(false);
             ParameterArena qab = TinyEncoder.layout(2, width, config.dim()).build(backend, true);
             ParameterArena kab = qab.newLike(false);
             Sgd sgdL = new Sgd(ql, lr, momentum, wd);
             Sgd sgdAb = new Sgd(qab, lr, momentum, wd);
             Tensor xl = Tensor.allocate(backend, n, 1, hw, hw);
             Tensor xab = Tensor.allocate(backend, n, 2, hw, hw)) {
            load(f, "l", ql, width);
            load(f, "ab", qab, width);
            kl.copyFrom(ql);
            kab.copyFrom(qab);
            TwoViewMocoStep.View l = new TwoViewMocoStep.View(TinyEncoder::forward, ql, kl, sgdL, config, 1);
            TwoViewMocoStep.View ab = new TwoViewMocoStep.View(TinyEncoder::forward, qab, kab, sgdAb, config, 2);
            l.queue().load(data(f, "queue_l_init"), ptr);
            ab.queue().load(data(f, "queue_ab_init"), ptr);
            try (TwoViewMocoStep step = new TwoViewMocoStep(config, l, ab)) {
                step.useRandom(new StepRandom() {
                    @Override public int[] permutation(long s, int draw, int count) {
                        return f.tensors().get("perm_" + s + "_" + draw).toIntArray();
                    }
                    @Override public int[] sample(long s, int draw, int count, int bound) {
                        throw new AssertionError("CMC samples nothing");
                    }
                });
                for (int s = 0; s < integer(meta, "steps"); s++) {
                    String at = "step " + s;
                    xl.copyFrom(data(f, "x_l_" + s));
                    xab.copyFrom(data(f, "x_ab_" + s));
                    Loss.Stats stats = step.step(xl, xab);
                    float[] expected = data(f, "stats_" + s);
                    Tolerance.assertClose(at + " loss", new float[] {expected[0]}, new float[] {(float) stats.loss()},
                            LOSS, LOSS);
                    assertEquals(expected[1], stats.acc1(), 0, at + " acc@1");
                    assertEquals(expected[2], stats.acc5(), 0, at + " acc@5");
                    compare(f, at, "l", "ql", "kl", ql, kl, s);
                    compare(f, at, "ab", "qab", "kab", qab, kab, s);
                    Tolerance.assertClose(at + " queue_l", data(f, "queue_l_" + s), l.queue().toArray(), KEY_ABS, KEY_REL);
                    Tolerance.assertClose(at + " queue_ab", data(f, "queue_ab_" + s), ab.queue().toArray(), KEY_ABS, KEY_REL);
                    assertEquals(f.tensors().get("queue_ptr_" + s).toIntArray()[0], l.queue().pointer(), at + " pointer");
                }
            }
        }
    }

    private static void load(Safetensors.Contents f, String prefix, ParameterArena q, int width) {
        for (ParameterArena.Entry e : q.entries())
            if (e.kind() != ParameterArena.Kind.STATE) q.load(e.name(), data(f, prefix + "." + e.name() + "_init"));
        q.load("bn1.running_var", TinyEncoder.ones(width));
    }

    private static void compare(Safetensors.Contents f, String at, String grad, String query, String key,
                                ParameterArena q, ParameterArena k, int s) {
        for (ParameterArena.Entry e : q.entries()) {
            String p = e.name() + "_" + s;
            if (e.kind() != ParameterArena.Kind.STATE)
                Tolerance.assertClose(at + " grad " + grad + "." + e.name(), data(f, "grad." + grad + "." + p),
                        q.tensor(e.name()).gradToArray(), GRAD_ABS, GRAD_REL);
            Tolerance.assertClose(at + " " + query + " " + e.name(), data(f, query + "." + p), q.export(e.name()),
                    STATE_ABS, STATE_REL);
            Tolerance.assertClose(at + " " + key + " " + e.name(), data(f, key + "." + p), k.export(e.name()),
                    STATE_ABS, STATE_REL);
        }
    }
}
