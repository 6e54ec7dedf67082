package dev.jmoco;

import dev.jmoco.autograd.Loss;
import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.optim.Sgd;
import dev.jmoco.autograd.Tape;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Backends;

import java.util.Random;

/**
 * The README's engine example as a plain program (no test framework), so that {@link ReadmeExampleTest} can
 * run it in this JVM and in one whose class path holds jmoco's own classes and nothing else.
 */
public final class ReadmeExample {
    private ReadmeExample() {}

    /** Runs 150 MoCo steps; returns the mean loss of the first 10, of the last 10, and the last 10's acc@1. */
    public static double[] run() {
        int n = 32, in = 64, dim = 16, queueSize = 256;
        Random rnd = new Random(1);
        float[] weights = new float[dim * in], keys = new float[queueSize * dim];
        for (int i = 0; i < weights.length; i++) weights[i] = (float) rnd.nextGaussian() * 0.1f;
        for (int i = 0; i < keys.length; i++) keys[i] = (float) rnd.nextGaussian();
        double first = 0, last = 0, lastAcc1 = 0;

        // --- README example starts here ---
        try (Backend backend = Backends.create("auto")) {                      // cpu here; a GPU when present
            ParameterArena.Builder layout = new ParameterArena.Builder()
                    .parameter("fc.weight", true, dim, in)                     // weight decay applies
                    .parameter("fc.bias", false, dim);                         // exempt from weight decay
            try (ParameterArena encoderQ = layout.build(backend, true);        // trained by SGD
                 ParameterArena encoderK = layout.build(backend, false);       // momentum copy, no gradients
                 Sgd sgd = new Sgd(encoderQ, 0.05f, 0.9f, 1e-4f);
                 Tensor xq = Tensor.allocate(backend, n, in);                   // two views of one batch
                 Tensor xk = Tensor.allocate(backend, n, in);
                 Tensor queue = Ops.l2NormalizeRows(Tensor.fromArray(backend, keys, queueSize, dim))) {
                encoderQ.load("fc.weight", weights);
                encoderK.copyFrom(encoderQ);
                int ptr = 0;
                for (int step = 0; step < 150; step++) {
                    float[][] views = twoViews(rnd, n, in);
                    xq.copyFrom(views[0]);
                    xk.copyFrom(views[1]);
                    try (Tape tape = Tape.record()) {                          // owns this step's activations
                        Tensor q = Ops.l2NormalizeRows(Ops.linear(xq, encoderQ.tensor("fc.weight"), encoderQ.tensor("fc.bias")));
                        Tensor k = Ops.l2NormalizeRows(Ops.linear(xk, encoderK.tensor("fc.weight"), encoderK.tensor("fc.bias")));
                        Loss loss = Ops.infoNce(q, k, queue, 0.2f);             // fused: loss, acc@1/5, dq
                        encoderQ.zeroGrad();
                        tape.backward(loss.value());
                        sgd.step();                                             // two launches over the arena
                        encoderK.ema(0.9f, encoderQ);                          // one launch over the arena
                        backend.enqueue(queue.data(), queueSize, dim, k.data(), n, ptr);
                        ptr = (ptr + n) % queueSize;                            // ring buffer pointer
                        Loss.Stats stats = loss.read();                         // throws if the loss is not finite
        // --- README example ends here ---
                        if (step < 10) first += stats.loss() / 10;
                        if (step >= 140) { last += stats.loss() / 10; lastAcc1 += stats.acc1() / 10; }
                    }
                }
            }
        }
        return new double[] {first, last, lastAcc1};
    }

    /** Prints "first last acc1" (for a child JVM). */
    public static void main(String[] args) {
        double[] r = run();
        System.out.println("readme-example " + r[0] + " " + r[1] + " " + r[2]);
    }

    /**
     * Random images seen twice: the second half of the features is noise that differs between the views, so
     * the encoder can only lower the loss by learning to ignore it.
     */
    private static float[][] twoViews(Random rnd, int n, int in) {
        float[][] v = new float[2][n * in];
        for (int i = 0; i < n * in; i++) {
            float x = (float) rnd.nextGaussian();
            boolean noisy = i % in >= in / 2;
            v[0][i] = x + (noisy ? 3 * (float) rnd.nextGaussian() : 0);
            v[1][i] = x + (noisy ? 3 * (float) rnd.nextGaussian() : 0);
        }
        return v;
    }
}
