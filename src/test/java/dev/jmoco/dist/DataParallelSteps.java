package dev.jmoco.dist;

import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.backend.Buffer;
import dev.jmoco.moco.KeyQueue;
import dev.jmoco.train.TrainConfig;
import dev.jmoco.train.Trainer;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * A few MoCo steps of a tiny Fashion-MNIST run as one rank of the job this process was started in (under
 * mpirun, one rank of N; else one process), then each rank's state to {@code DIR/rank-R.bin}: the per-step
 * losses, f_q's parameters after the first step, f_q's and f_k's parameters and running statistics after the last,
 * and the queue.
 * With a colour image folder LAB_DATA (testing.ColourFolder), a {@code --views lab} run instead, each state
 * array L's and ab's one after the other.
 * <pre>{@code mpirun -np 2 java ... DataParallelSteps DIR BN_SPLITS STEPS SYMMETRIC [LAB_DATA]}</pre>
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

    /**
     * The run every rank and the one-process reference make: only the BN splits differ between them. With
     * {@code labData} (a colour folder; null: Fashion-MNIST) the lab views.
     */
    static TrainConfig config(int bnSplits, boolean symmetric, Path labData) {
        TrainConfig.Builder b = TrainConfig.builder().device("cpu").limitTrain(512).batch(64).queue(256).epochs(1)
                .knnEvery(0).workers(1).bnSplits(bnSplits).symmetric(symmetric).seed(7).lr(0.03);
        return (labData == null ? b : b.dataset("folder").dataDir(labData).views("lab")).build();
    }

    /** {@code steps} steps as a rank of {@code job}; the state it then holds. */
    static State run(Collective job, int bnSplits, int steps, boolean symmetric, Path labData) throws IOException {
        try (Trainer t = Trainer.start(config(bnSplits, symmetric, labData), false, job)) {
            List<ParameterArena> q = new ArrayList<>(List.of(t.encoder().arena())), k = new ArrayList<>(
                    List.of(t.keyArena()));
            List<KeyQueue> queues = new ArrayList<>(List.of(t.queue()));
            if (t.abEncoder() != null) {
                q.add(t.abEncoder().arena());
                k.add(t.abKeyArena());
                queues.add(t.abQueue());
            }
            double[] losses = new double[steps];
            float[] first = floats(q, ParameterArena::data);
            for (int i = 0; i < steps; i++) {
                losses[i] = t.step().loss();
                if (i == 0) first = floats(q, ParameterArena::data);
            }
            float[][] keys = queues.stream().map(KeyQueue::toArray).toArray(float[][]::new);
            return new State(losses, first, floats(q, ParameterArena::data), floats(q, ParameterArena::state),
                    floats(k, ParameterArena::data), floats(k, ParameterArena::state), concat(keys));
        }
    }

    /** The buffers {@code part} of {@code arenas}, downloaded one after the other. */
    private static float[] floats(List<ParameterArena> arenas, Function<ParameterArena, Buffer> part) {
        float[][] all = new float[arenas.size()][];
        for (int i = 0; i < all.length; i++) {
            Buffer b = part.apply(arenas.get(i));
            all[i] = new float[Math.toIntExact(b.size())];
            b.backend().download(b, all[i], 0);
        }
        return concat(all);
    }

    private static float[] concat(float[][] parts) {
        float[] out = new float[Arrays.stream(parts).mapToInt(p -> p.length).sum()];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        Collective job = Collectives.open();
        State s = run(job, Integer.parseInt(args[1]), Integer.parseInt(args[2]), Boolean.parseBoolean(args[3]),
                args.length > 4 ? Path.of(args[4]) : null);
        s.write(dir.resolve("rank-" + job.rank() + ".bin"));
        System.out.println("rank " + job.rank() + " of " + job.size() + ": losses " + Arrays.toString(s.losses()));
        job.close();
    }
}
