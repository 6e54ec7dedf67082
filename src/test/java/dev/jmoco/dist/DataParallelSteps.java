package dev.jmoco.dist;

import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.backend.Buffer;
import dev.jmoco.train.TrainConfig;
import dev.jmoco.train.Trainer;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A few MoCo steps of a tiny Fashion-MNIST run as one rank of the job this process was started in (under
 * mpirun, one rank of N; else one process), then each rank's state to {@code DIR/rank-R.bin}: the per-step
 * losses, f_q's parameters after the first step, f_q's and f_k's parameters and running statistics after the last,
 * and the queue.
 * <pre>{@code mpirun -np 2 java ... DataParallelSteps DIR BN_SPLITS STEPS SYMMETRIC}</pre>
 */
public final class DataParallelSteps {
    /** What a rank held after the steps. */
    record State(double[] losses, float[] firstQuery, float[] query, float[] queryState, float[] key, float[] keyState,
                 float[] queue) {
        void write(Path file) throws IOException {
            try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(file))) {
                out.writeInt(losses.length);
                for (double l : losses) out.writeDouble(l);
                for (float[] a : new float[][] {firstQuery, query, queryState, key, keyState, queue}) {
                    out.writeInt(a.length);
                    for (float v : a) out.writeFloat(v);
                }
            }
        }

        static State read(Path file) throws IOException {
            try (DataInputStream in = new DataInputStream(Files.newInputStream(file))) {
                double[] losses = new double[in.readInt()];
                for (int i = 0; i < losses.length; i++) losses[i] = in.readDouble();
                float[][] a = new float[6][];
                for (int k = 0; k < a.length; k++) {
                    a[k] = new float[in.readInt()];
                    for (int i = 0; i < a[k].length; i++) a[k][i] = in.readFloat();
                }
                return new State(losses, a[0], a[1], a[2], a[3], a[4], a[5]);
            }
        }
    }

    private DataParallelSteps() {}

    /** The run every rank and the one-process reference make: only the BN splits differ between them. */
    static TrainConfig config(int bnSplits, boolean symmetric) {
        return TrainConfig.builder().device("cpu").limitTrain(512).batch(64).queue(256).epochs(1).knnEvery(0)
                .workers(1).bnSplits(bnSplits).symmetric(symmetric).seed(7).lr(0.03).build();
    }

    /** {@code steps} steps as a rank of {@code job}; the state it then holds. */
    static State run(Collective job, int bnSplits, int steps, boolean symmetric) throws IOException {
        try (Trainer t = Trainer.start(config(bnSplits, symmetric), false, job)) {
            double[] losses = new double[steps];
            ParameterArena q = t.encoder().arena(), k = t.keyArena();
            float[] first = floats(q.data());
            for (int i = 0; i < steps; i++) {
                losses[i] = t.step().loss();
                if (i == 0) first = floats(q.data());
            }
            return new State(losses, first, floats(q.data()), floats(q.state()), floats(k.data()), floats(k.state()),
                    t.queue().toArray());
        }
    }

    private static float[] floats(Buffer b) {
        float[] a = new float[Math.toIntExact(b.size())];
        b.backend().download(b, a, 0);
        return a;
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        Collective job = Collectives.open();
        State s = run(job, Integer.parseInt(args[1]), Integer.parseInt(args[2]), Boolean.parseBoolean(args[3]));
        s.write(dir.resolve("rank-" + job.rank() + ".bin"));
        System.out.println("rank " + job.rank() + " of " + job.size() + ": losses " + Arrays.toString(s.losses()));
        job.close();
    }
}
