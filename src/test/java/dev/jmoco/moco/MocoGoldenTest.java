package dev.jmoco.moco;

import dev.jmoco.autograd.Loss;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.optim.Sgd;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.cpu.CpuBackend;
import dev.jmoco.io.Safetensors;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Whole training steps against PyTorch running the reference (the MoCo CIFAR demo's ModelMoCo, the
 * end-to-end and memory-bank baselines) on the same tiny encoder, inputs, weights, permutations and sampled
 * indices: fixtures in src/test/resources/golden/moco, written by tools/golden/make_moco_fixtures.py (float32
 * inputs, float64 answers rounded to float32, so the tolerances measure jmoco's float32 error alone).
 *
 * <p>Checked after every step: loss and accuracies, f_q's parameter gradients, f_q and f_k parameters and BN
 * running statistics, the queue and its pointer (or the memory bank). Tolerances, abs + rel per element, set
 * at about 3x the worst error measured (worst error / threshold in parentheses, over all four fixtures):
 * <ul>
 *   <li>loss 1e-6 abs and rel (0.08); acc@1 and acc@5 exact (the script rejects logits within 1e-4 of a rank
 *       change);</li>
 *   <li>parameter gradients 2e-6 abs, 2e-5 rel (0.38): they pass through BN's backward with statistics of 4
 *       samples per group and through InfoNCE at 1/t = 10, where float32 rounding grows most;</li>
 *   <li>parameters and BN running statistics 1e-7 abs, 1e-6 rel (0.34): an SGD step moves a parameter by lr
 *       times its velocity, so its error is 0.06 x the gradient's;</li>
 *   <li>queue keys and bank entries, unit vectors, 3e-7 abs, 3e-6 rel (0.28).</li>
 * </ul>
 * The tolerances are tight enough to see the order of the momentum update: updating f_k after SGD instead of
 * before changes f_k by (1 - m) lr |gradient|, tens of times the parameter tolerance.
 */
class MocoGoldenTest {
    private static final double LOSS = 1e-6, GRAD_ABS = 2e-6, GRAD_REL = 2e-5, STATE_ABS = 1e-7, STATE_REL = 1e-6,
            KEY_ABS = 3e-7, KEY_REL = 3e-6;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"moco", "moco_symmetric", "end_to_end", "memory_bank"})
    void matchesPyTorch(String name) throws IOException, URISyntaxException {
        Safetensors.Contents f = Safetensors.read(Path.of(Objects.requireNonNull(
                MocoGoldenTest.class.getResource("/golden/moco/" + name + ".safetensors")).toURI()));
        Map<String, String> meta = f.metadata();
        Mechanism mechanism = Mechanism.parse(meta.get("mechanism"));
        MocoConfig config = MocoConfig.builder().mechanism(mechanism)
                .symmetric(Boolean.parseBoolean(meta.get("symmetric")))
                .dim(integer(meta, "dim")).queueSize(integer(meta, "queue_size"))
                .temperature(number(meta, "t")).momentum(number(meta, "m")).bnSplits(integer(meta, "bn_splits"))
                .bankSize(meta.containsKey("bank_size") ? integer(meta, "bank_size") : 0)
                .bankMomentum(meta.containsKey("bank_momentum") ? number(meta, "bank_momentum") : 0.5f)
                .build();
        long[] xShape = f.tensors().get("x_q_0").shape();
        int n = (int) xShape[0], c = (int) xShape[1], hw = (int) xShape[2];
        int width = (int) f.tensors().get("q.conv1.weight_init").shape()[0];
        try (CpuBackend backend = new CpuBackend();
             ParameterArena q = TinyEncoder.layout(c, width, config.dim()).build(backend, true);
             ParameterArena k = q.newLike(false);
             Sgd sgd = new Sgd(q, number(meta, "lr"), number(meta, "momentum"), number(meta, "weight_decay"));
             Tensor xq = Tensor.allocate(backend, n, c, hw, hw);
             Tensor xk = Tensor.allocate(backend, n, c, hw, hw);
             ContrastiveStep step = ContrastiveStep.create(config, TinyEncoder::forward, q, k, sgd)) {
            for (ParameterArena.Entry e : q.entries())
                if (e.kind() != ParameterArena.Kind.STATE) q.load(e.name(), data(f, "q." + e.name() + "_init"));
            q.load("bn1.running_var", TinyEncoder.ones(width));
            k.copyFrom(q);
            step.useRandom(replay(f));
            if (step instanceof MocoStep m)
                m.queue().load(data(f, "queue_init"), f.tensors().get("queue_ptr_init").toIntArray()[0]);
            if (step instanceof MemoryBankStep m) m.bank().load(data(f, "bank_init"));

            for (int s = 0; s < integer(meta, "steps"); s++) {
                String at = name + " step " + s;
                xq.copyFrom(data(f, "x_q_" + s));
                xk.copyFrom(data(f, "x_k_" + s));
                int[] index = f.tensors().containsKey("index_" + s) ? f.tensors().get("index_" + s).toIntArray() : null;
                Loss.Stats stats = step.step(xq, xk, index);

                float[] expected = data(f, "stats_" + s);
                Tolerance.assertClose(at + " loss", new float[] {expected[0]}, new float[] {(float) stats.loss()},
                        LOSS, LOSS);
                assertEquals(expected[1], stats.acc1(), 0, at + " acc@1");
                assertEquals(expected[2], stats.acc5(), 0, at + " acc@5");
                for (ParameterArena.Entry e : q.entries()) {
                    String p = e.name() + "_" + s;
                    if (e.kind() != ParameterArena.Kind.STATE)
                        Tolerance.assertClose(at + " grad " + e.name(), data(f, "grad." + p),
                                q.tensor(e.name()).gradToArray(), GRAD_ABS, GRAD_REL);
                    Tolerance.assertClose(at + " f_q " + e.name(), data(f, "q." + p), q.export(e.name()),
                            STATE_ABS, STATE_REL);
                    if (mechanism == Mechanism.MOCO)
                        Tolerance.assertClose(at + " f_k " + e.name(), data(f, "k." + p), k.export(e.name()),
                                STATE_ABS, STATE_REL);
                }
                if (step instanceof MocoStep m) {
                    Tolerance.assertClose(at + " queue", data(f, "queue_" + s), m.queue().toArray(),
                            KEY_ABS, KEY_REL);
                    assertEquals(f.tensors().get("queue_ptr_" + s).toIntArray()[0], m.queue().pointer(),
                            at + " queue pointer");
                }
                if (step instanceof MemoryBankStep m)
                    Tolerance.assertClose(at + " bank", data(f, "bank_" + s), m.bank().toArray(), KEY_ABS, KEY_REL);
            }
        }
    }

    /** The fixture's permutations (perm_{step}_{draw}) and sampled negatives (negatives_{step}_{draw}). */
    private static StepRandom replay(Safetensors.Contents f) {
        return new StepRandom() {
            @Override
            public int[] permutation(long step, int draw, int n) {
                int[] p = f.tensors().get("perm_" + step + "_" + draw).toIntArray();
                assertEquals(n, p.length, "permutation length");
                return p;
            }

            @Override
            public int[] sample(long step, int draw, int count, int bound) {
                int[] s = f.tensors().get("negatives_" + step + "_" + draw).toIntArray();
                assertEquals(count, s.length, "sample count");
                return s;
            }
        };
    }

    /** Tensor {@code name} of a fixture (TwoViewMocoGoldenTest reads its fixture with these too). */
    static float[] data(Safetensors.Contents f, String name) {
        Safetensors.Tensor t = f.tensors().get(name);
        if (t == null) throw new IllegalStateException("fixture has no tensor " + name);
        return t.data();
    }

    static int integer(Map<String, String> meta, String key) { return Integer.parseInt(meta.get(key)); }

    static float number(Map<String, String> meta, String key) { return Float.parseFloat(meta.get(key)); }
}
