package dev.jmoco.moco;

import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.Tape;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.dist.Collective;
import dev.jmoco.trace.Trace;

import java.util.function.UnaryOperator;

/**
 * A step's keys normalize(f_k(x)) with shuffle-BN, computed without keeping f_k's activations: on one process
 * the rows in the order of a permutation of the batch, on several ranks (MoCo's shuffle across GPUs) the rows
 * of the global batch gathered from every rank and each rank encoding its share of the shuffled order, then the
 * keys gathered back in the global batch's order. Rank r holds rows r, r + N, r + 2N, ... of the global batch
 * (the loaders' shards). Used by {@link MocoStep} and, per view, by {@link TwoViewMocoStep}.
 */
final class ShuffledKeys {
    /** The keys of this rank's samples (for its loss) and of the global batch (for the queue). */
    record Keys(Tensor own, Tensor all) {}

    private ShuffledKeys() {}

    /**
     * The keys of this rank's rows {@code x} ([n, ...]) by {@code encode} (x's rows to normalised keys), shuffled
     * by {@code permutation} of the global batch of n x ranks rows.
     */
    static Keys of(Collective c, UnaryOperator<Tensor> encode, Tensor x, int[] permutation) {
        if (!c.distributed()) {
            Tensor k = Tape.detached(() -> ContrastiveStep.embedShuffled(encode, x, permutation));
            return new Keys(k, k);
        }
        Tensor all = Tape.detached(() -> acrossRanks(c, encode, x, permutation));
        int[] own = new int[x.dim(0)];
        for (int j = 0; j < own.length; j++) own[j] = c.rank() + c.size() * j;
        return new Keys(Ops.gatherRows(all, own), all);
    }

    /**
     * The keys [B, dim] of the global batch in its order, rank r having encoded the shuffled rows r, r + N, ...
     * Gathered buffers hold rank r's row j at r n + j, the global batch's row r + N j.
     */
    private static Tensor acrossRanks(Collective c, UnaryOperator<Tensor> encode, Tensor x, int[] permutation) {
        int ranks = c.size(), n = x.dim(0);
        int[] shape = x.shape();
        shape[0] = n * ranks;
        try (Trace.Scope phase = Trace.scope("key encoder forward", "phase");
             Tensor gathered = Tensor.allocate(x.backend(), shape)) {
            c.allGather(x.data(), gathered.data());
            int[] mine = new int[n];
            for (int j = 0; j < n; j++) mine[j] = gatheredRow(permutation[c.rank() + ranks * j], ranks, n);
            Tensor k = encode.apply(Ops.gatherRows(gathered, mine));
            try (Tensor keys = Tensor.allocate(x.backend(), n * ranks, k.dim(1))) {
                c.allGather(k.data(), keys.data());
                int[] inverse = StepRandom.inverse(permutation), inOrder = new int[n * ranks];
                for (int i = 0; i < inOrder.length; i++) inOrder[i] = gatheredRow(inverse[i], ranks, n);
                return Ops.gatherRows(keys, inOrder);
            }
        }
    }

    /** Where row {@code i} of the global batch sits in an all-gather of N ranks' n rows each. */
    private static int gatheredRow(int i, int ranks, int n) { return (i % ranks) * n + i / ranks; }
}
