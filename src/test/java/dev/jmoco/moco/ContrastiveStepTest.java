package dev.jmoco.moco;

import dev.jmoco.autograd.Loss;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.optim.Sgd;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.PoolStats;
import dev.jmoco.backend.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The three mechanisms on a toy problem (16 random images, two noisy views each): the loss falls; a warm step
 * creates no backend buffers and returns all it takes; a resumed run repeats an uninterrupted one bit for bit;
 * bad settings and batches fail with messages naming both sizes.
 */
class ContrastiveStepTest {
    private static final int IMAGES = 16, N = 8, C = 3, HW = 6, WIDTH = 8, DIM = 16, K = 32;

    private CpuBackend backend;
    private float[] dataset;

    @BeforeEach
    void open() {
        backend = new CpuBackend();
        Random r = new Random(1);
        // Images told apart by their channel means (which survive global pooling), plus pixel noise.
        int plane = HW * HW;
        dataset = new float[IMAGES * C * plane];
        for (int p = 0; p < IMAGES * C; p++) {
            float offset = (float) r.nextGaussian();
            for (int j = 0; j < plane; j++) dataset[p * plane + j] = offset + 0.5f * (float) r.nextGaussian();
        }
    }

    @AfterEach
    void close() { backend.close(); }

    /** f_q, f_k, Sgd, the step and two view tensors, closed together. */
    private final class Run implements AutoCloseable {
        final ParameterArena query = TinyEncoder.layout(C, WIDTH, DIM).build(backend, true);
        final ParameterArena key = query.newLike(false);
        final Sgd sgd;
        final Tensor xq = Tensor.allocate(backend, N, C, HW, HW), xk = Tensor.allocate(backend, N, C, HW, HW);
        final ContrastiveStep step;

        Run(MocoConfig config, float lr) {
            sgd = new Sgd(query, lr, 0.9f, 5e-4f);
            TinyEncoder.initialise(query, new Random(2));
            key.copyFrom(query);
            step = ContrastiveStep.create(config, TinyEncoder::forward, query, key, sgd);
        }

        /** Step number s on a batch of N of the toy images, two views each with noise; returns the stats. */
        Loss.Stats step(long s) {
            Random r = new Random(100 + s);
            int[] index = new int[N];
            int[] order = new int[IMAGES];
            for (int i = 0; i < IMAGES; i++) order[i] = i;
            for (int i = 0; i < N; i++) { // a partial shuffle: N distinct images
                int j = i + r.nextInt(IMAGES - i);
                int t = order[i]; order[i] = order[j]; order[j] = t;
                index[i] = order[i];
            }
            int size = C * HW * HW;
            float[] a = new float[N * size], b = new float[N * size];
            for (int i = 0; i < N; i++)
                for (int j = 0; j < size; j++) {
                    float x = dataset[index[i] * size + j];
                    a[i * size + j] = x + 0.3f * (float) r.nextGaussian();
                    b[i * size + j] = x + 0.3f * (float) r.nextGaussian();
                }
            xq.copyFrom(a);
            xk.copyFrom(b);
            return step.step(xq, xk, index);
        }

        @Override
        public void close() {
            step.close();
            xq.close();
            xk.close();
            sgd.close();
            key.close();
            query.close();
        }
    }

    private static MocoConfig.Builder config(Mechanism m) {
        return MocoConfig.builder().mechanism(m).dim(DIM).queueSize(K).temperature(0.2f).momentum(0.9f).bnSplits(2)
                .bankSize(m == Mechanism.MEMORY_BANK ? IMAGES : 0).bankMomentum(0.5f).seed(7);
    }

    /**
     * Against the same run with the learning rate at 0 (a frozen random encoder, same batches, same
     * dictionary dynamics): after 60 steps the trained encoder's mean loss over the last 10 is below 0.85 x the
     * frozen one's (measured: 0.71 to 0.79; the MoCo loss does not fall monotonically, since the queue first fills
     * with ever closer keys).
     */
    @ParameterizedTest
    @ValueSource(strings = {"moco", "moco-symmetric", "end-to-end", "memory-bank"})
    void lossFallsBelowAFrozenEncodersOnAToyProblem(String which) {
        boolean symmetric = which.equals("moco-symmetric");
        MocoConfig cfg = config(Mechanism.parse(symmetric ? "moco" : which)).symmetric(symmetric).build();
        double trained = lateLoss(cfg, 0.05f), frozen = lateLoss(cfg, 0f);
        assertTrue(trained < 0.85 * frozen, which + ": trained " + trained + " vs frozen " + frozen);
    }

    private double lateLoss(MocoConfig cfg, float lr) {
        try (Run run = new Run(cfg, lr)) {
            double sum = 0;
            for (int s = 0; s < 60; s++) {
                double loss = run.step(s).loss();
                if (s >= 50) sum += loss;
            }
            return sum / 10;
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"moco", "moco-symmetric", "end-to-end", "memory-bank"})
    void aWarmStepCreatesNoBuffersAndReturnsAll(String which) {
        boolean symmetric = which.equals("moco-symmetric");
        MocoConfig cfg = config(Mechanism.parse(symmetric ? "moco" : which)).symmetric(symmetric).build();
        long liveBefore = backend.poolStats().live();
        try (Run run = new Run(cfg, 0.05f)) {
            long liveAtStart = backend.poolStats().live();
            for (int s = 0; s < 3; s++) run.step(s);
            PoolStats warm = backend.poolStats();
            for (int s = 3; s < 8; s++) run.step(s);
            PoolStats after = backend.poolStats();
            assertEquals(warm.created(), after.created(), which + ": buffers created by warm steps");
            assertEquals(liveAtStart, after.live(), which + ": buffers left live by the steps");
        }
        assertEquals(liveBefore, backend.poolStats().live(), which + ": buffers left live after close");
    }

    /** 6 steps straight and 3 steps, a restore into fresh objects, and 3 more give bit-identical state. */
    @ParameterizedTest
    @EnumSource(Mechanism.class)
    void aResumedRunRepeatsAnUninterruptedOne(Mechanism m) {
        MocoConfig cfg = config(m).build();
        try (Run straight = new Run(cfg, 0.05f); Run first = new Run(cfg, 0.05f); Run second = new Run(cfg, 0.05f)) {
            for (int s = 0; s < 6; s++) straight.step(s);
            for (int s = 0; s < 3; s++) first.step(s);
            second.query.copyFrom(first.query);
            second.key.copyFrom(first.key);
            backend.copy(first.sgd.velocity(), second.sgd.velocity());
            dictionary(second.step, first.step);
            second.step.resumeAt(first.step.steps());
            for (int s = 3; s < 6; s++) second.step(s);
            assertEquals(6, second.step.steps());
            for (String name : straight.query.names()) {
                assertArrayEquals(straight.query.export(name), second.query.export(name), m + " f_q " + name);
                assertArrayEquals(straight.key.export(name), second.key.export(name), m + " f_k " + name);
            }
            assertArrayEquals(contents(straight.step), contents(second.step), m + " dictionary");
        }
    }

    @Test
    void badSettingsAndBatchesFailWithMessagesNamingBothSizes() {
        try (Run run = new Run(config(Mechanism.MOCO).queueSize(4).build(), 0.05f)) {
            String msg = assertThrows(IllegalArgumentException.class, () -> run.step(0)).getMessage();
            assertTrue(msg.contains("8") && msg.contains("queue size 4"), msg);
        }
        try (Run run = new Run(config(Mechanism.MOCO).queueSize(12).symmetric(true).build(), 0.05f)) {
            String msg = assertThrows(IllegalArgumentException.class, () -> run.step(0)).getMessage();
            assertTrue(msg.contains("16") && msg.contains("12"), msg);
        }
        try (Run run = new Run(config(Mechanism.MOCO).dim(32).build(), 0.05f)) { // the encoder gives 16
            String msg = assertThrows(IllegalArgumentException.class, () -> run.step(0)).getMessage();
            assertTrue(msg.contains("[8, 16]") && msg.contains("dim 32"), msg);
        }
        try (Run run = new Run(config(Mechanism.MOCO).bnSplits(3).build(), 0.05f)) {
            String msg = assertThrows(IllegalArgumentException.class, () -> run.step(0)).getMessage();
            assertTrue(msg.contains("batch of 8") && msg.contains("3 BN splits"), msg);
        }
        try (Run run = new Run(config(Mechanism.MEMORY_BANK).build(), 0.05f);
             Tensor other = Tensor.allocate(backend, N, C, HW, HW + 1)) {
            String msg = assertThrows(IllegalArgumentException.class, () -> run.step.step(run.xq, other, null))
                    .getMessage();
            assertTrue(msg.contains("[8, 3, 6, 6]") && msg.contains("[8, 3, 6, 7]"), msg);
            msg = assertThrows(IllegalArgumentException.class, () -> run.step.step(run.xq, run.xk, null)).getMessage();
            assertTrue(msg.contains("8 samples") && msg.contains("none"), msg);
            msg = assertThrows(IllegalArgumentException.class,
                    () -> run.step.step(run.xq, run.xk, new int[] {0, 1, 2, 3, 4, 5, 6, 6})).getMessage();
            assertTrue(msg.contains("6 appears twice"), msg);
            msg = assertThrows(IllegalArgumentException.class,
                    () -> run.step.step(run.xq, run.xk, new int[] {0, 1, 2, 3, 4, 5, 6, 16})).getMessage();
            assertTrue(msg.contains("16 outside the 16"), msg);
            assertEquals(0, run.step.steps(), "refused batches are not counted");
        }
        MocoConfig moco = config(Mechanism.MOCO).build();
        try (Run run = new Run(moco, 0.05f);
             ParameterArena wider = TinyEncoder.layout(C, WIDTH + 1, DIM).build(backend, false);
             ParameterArena trainable = run.query.newLike(true)) {
            String msg = assertThrows(IllegalArgumentException.class,
                    () -> ContrastiveStep.create(moco, TinyEncoder::forward, run.query, wider, run.sgd)).getMessage();
            assertTrue(msg.contains("layout"), msg);
            msg = assertThrows(IllegalArgumentException.class, () -> ContrastiveStep.create(moco,
                    TinyEncoder::forward, run.query, trainable, run.sgd)).getMessage();
            assertTrue(msg.contains("must not be trainable"), msg);
        }
        assertThrows(IllegalArgumentException.class, () -> config(Mechanism.END_TO_END).symmetric(true).build());
        assertThrows(IllegalArgumentException.class, () -> config(Mechanism.MEMORY_BANK).bankSize(0).build());
        // The temperature is checked where it enters (the trainer's settings table) and at the op set: a config
        // built by hand with t = 0 fails at its first step, naming the op and the value.
        try (Run run = new Run(config(Mechanism.MOCO).temperature(0).build(), 0.05f)) {
            String t = assertThrows(IllegalArgumentException.class, () -> run.step(0)).getMessage();
            assertTrue(t.contains("infoNce") && t.contains("temperature must be > 0, got 0.0"), t);
        }
        String msg = assertThrows(IllegalArgumentException.class, () -> Mechanism.parse("bank")).getMessage();
        assertTrue(msg.contains("moco, end-to-end, memory-bank"), msg);
    }

    @Test
    void seededPermutationsAreValidRepeatableAndVaryByStepAndDraw() {
        StepRandom r = StepRandom.seeded(3);
        int[] p = r.permutation(5, 0, 64);
        assertArrayEquals(p, StepRandom.seeded(3).permutation(5, 0, 64), "same seed, step and draw");
        int[] sorted = p.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < 64; i++) assertEquals(i, sorted[i], "a permutation of 0..63");
        int[] inv = StepRandom.inverse(p);
        for (int i = 0; i < 64; i++) assertEquals(i, inv[p[i]], "inverse");
        assertTrue(!Arrays.equals(p, r.permutation(6, 0, 64)) && !Arrays.equals(p, r.permutation(5, 1, 64))
                && !Arrays.equals(p, StepRandom.seeded(4).permutation(5, 0, 64)), "other step, draw or seed");
        for (int v : r.sample(2, 0, 1000, 7)) assertTrue(v >= 0 && v < 7, "sample in range: " + v);
    }

    private static void dictionary(ContrastiveStep to, ContrastiveStep from) {
        if (to instanceof MocoStep t && from instanceof MocoStep f)
            t.queue().load(f.queue().toArray(), f.queue().pointer());
        if (to instanceof MemoryBankStep t && from instanceof MemoryBankStep f) t.bank().load(f.bank().toArray());
    }

    private static float[] contents(ContrastiveStep step) {
        return switch (step) {
            case MocoStep m -> m.queue().toArray();
            case MemoryBankStep m -> m.bank().toArray();
            case EndToEndStep e -> new float[0];
        };
    }
}
