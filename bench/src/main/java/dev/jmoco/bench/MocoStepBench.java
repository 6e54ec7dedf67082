package dev.jmoco.bench;

import dev.jmoco.autograd.Loss;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.optim.Sgd;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.Buffer;
import dev.jmoco.moco.ContrastiveStep;
import dev.jmoco.moco.Mechanism;
import dev.jmoco.moco.MocoConfig;
import dev.jmoco.nn.Architecture;
import dev.jmoco.nn.Encoder;
import dev.jmoco.nn.Encoders;
import dev.jmoco.nn.HeadKind;
import dev.jmoco.nn.Mode;
import dev.jmoco.nn.Stem;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Arrays;

/**
 * One whole MoCo training step at the CIFAR demo's settings (K 4096, m 0.99, t 0.1, 8 BN splits, v2 head of
 * dim 128, SGD lr 0.06 momentum 0.9 weight decay 5e-4, batch 256): momentum update, shuffled key pass, query
 * pass, fused InfoNCE, backward, SGD and enqueue, then the step's statistics are read (one download, which
 * waits for the work). Built through the public API as {@code dev.jmoco.train.Trainer} builds it.
 *
 * <p>{@code arch}: "small" (the small CNN on 1 x 28 x 28, Fashion-MNIST's shape) or "resnet18" (CIFAR stem on
 * 3 x 32 x 32). The two views are fixed random batches uploaded once: augmentation is the loader's work and is
 * not measured here. The peers ({@code bench/peer.py} torch_moco_step_ARCH) run the demo's ModelMoCo in
 * PyTorch eager on the same shapes; {@code bench/compare.py} reports images/s = batch / time for both.
 *
 * <p>Iterations are few and short because a ResNet-18 step takes 10-20 s on a 2-core CPU (an iteration runs
 * at least one whole step); set-up's two checked steps already warm the code, so one warm-up iteration
 * follows. Both architectures together take 2-3 minutes there.
 */
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 3, time = 2)
public class MocoStepBench extends BenchBase {
    @Param({"small", "resnet18"}) public String arch;
    @Param({"256"}) public int batch;
    @Param({"4096"}) public int queue;
    /** The CPU GEMM path (jmoco.cpu.gemm): auto, java, openblas; with device cpu:java, "java" is pure Java. */
    @Param({"auto"}) public String gemm;

    private static final int DIM = 128, BN_SPLITS = 8;
    private static final float TEMPERATURE = 0.1f, MOMENTUM = 0.99f;
    private static final float LR = 0.06f, SGD_MOMENTUM = 0.9f, WEIGHT_DECAY = 5e-4f;
    private static final long SEED = 0;

    private ParameterArena query, key;
    private Sgd sgd;
    private ContrastiveStep moco;
    private Tensor viewQ, viewK;
    private long steps;

    @Setup
    public void setup() {
        System.setProperty("jmoco.cpu.gemm", gemm);
        openBackend();
        boolean small = arch.equals("small");
        int channels = small ? 1 : 3, side = small ? 28 : 32;
        Architecture architecture = Encoders.create(arch, Stem.CIFAR, channels, HeadKind.V2, DIM);
        query = architecture.arenaLayout().build(backend, true);
        architecture.initialize(query, SEED);
        key = query.newLike(false);
        key.copyFrom(query);
        // the demo's lr 0.06 is for batch 256; scaled by batch / 256 as Trainer scales it
        sgd = new Sgd(query, LR * batch / 256f, SGD_MOMENTUM, WEIGHT_DECAY);
        Encoder fq = architecture.bind(query), fk = architecture.bind(key);
        MocoConfig config = MocoConfig.builder().mechanism(Mechanism.MOCO).dim(DIM).queueSize(queue).temperature(TEMPERATURE)
                .momentum(MOMENTUM).bnSplits(BN_SPLITS).seed(SEED).build();
        moco = ContrastiveStep.create(config, (params, images, groups) ->
                (params == query ? fq : fk).forward(images, Mode.train(groups)), query, key, sgd);
        int size = batch * channels * side * side;
        viewQ = Tensor.allocate(backend, batch, channels, side, side);
        viewK = Tensor.allocate(backend, batch, channels, side, side);
        backend.upload(randomArray(size, 1, 1), 0, viewQ.data());
        backend.upload(randomArray(size, 1, 2), 0, viewK.data());
        checkFirstSteps();
        resetProfile();
    }

    /**
     * Before timing: the first step's loss must lie in InfoNCE's range (0, ln(K + 1) + 2 / t) and the step
     * must have moved f_q (SGD); the second must stay finite ({@code step} throws otherwise) and move f_k
     * (the momentum update from the f_q that the first step changed). The first loss is not near ln(K + 1):
     * a network at its initial weights maps all inputs to nearly one direction, so the positive's cosine is
     * near 1 while the random queue's are near 0 (loss 0.46 for "small").
     */
    private void checkFirstSteps() {
        float[] q0 = download(query.data()), k0 = download(key.data());
        Loss.Stats first = moco.step(viewQ, viewK, null);
        double bound = Math.log(queue + 1.0) + 2 / TEMPERATURE;
        if (!(first.loss() > 0 && first.loss() < bound))
            throw new IllegalStateException("MoCo step (" + arch + "): first loss " + first.loss()
                    + " is outside InfoNCE's range (0, " + bound + ")");
        if (Arrays.equals(q0, download(query.data())))
            throw new IllegalStateException("MoCo step (" + arch + "): SGD left f_q unchanged");
        Loss.Stats second = moco.step(viewQ, viewK, null);
        if (Arrays.equals(k0, download(key.data())))
            throw new IllegalStateException("MoCo step (" + arch + "): the momentum update left f_k unchanged");
        System.out.printf("MoCo step (%s, %d parameters): loss %.4f then %.4f%n", arch, query.parameterSize(),
                first.loss(), second.loss());
    }

    private float[] download(Buffer b) {
        float[] host = new float[Math.toIntExact(b.size())];
        backend.download(b, host, 0);
        return host;
    }

    @Benchmark
    public Loss.Stats step() {
        Loss.Stats stats = moco.step(viewQ, viewK, null);
        backend.synchronize();
        steps++;
        return stats;
    }

    @TearDown
    public void tearDown() {
        System.clearProperty("jmoco.cpu.gemm");
        printProfile("step", steps);
        viewK.close();
        viewQ.close();
        moco.close();
        sgd.close();
        key.close();
        query.close();
        closeBackend();
    }
}
