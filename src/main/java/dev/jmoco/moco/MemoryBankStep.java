package dev.jmoco.moco;

import dev.jmoco.autograd.Loss;
import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.optim.Sgd;
import dev.jmoco.autograd.Tape;
import dev.jmoco.autograd.Tensor;

/**
 * The memory-bank mechanism (Wu et al. 2018, the MoCo paper's Fig. 2b): one encoder, and a bank of one feature
 * per dataset image. For a batch with dataset indices idx:
 * <ol>
 *   <li>q = normalize(f_q(x_q)), BN over {@code bnSplits} groups; the second view is not used (one view per
 *       image, as Wu et al.).</li>
 *   <li>positives = bank[idx]; negatives = bank[j] for K indices j drawn uniformly with replacement (seeded;
 *       a draw may hit a sample's own entry, as in Wu et al.'s sampler); both without gradient.</li>
 *   <li>loss = InfoNCE(q, positives, negatives, t); backward; SGD on f_q.</li>
 *   <li>bank[idx] = normalize(m v + (1 - m) q) with m = {@code bankMomentum} (0.5), from this step's q.</li>
 * </ol>
 */
public final class MemoryBankStep extends ContrastiveStep {
    private final MemoryBank bank;

    MemoryBankStep(MocoConfig config, MocoEncoder encoder, ParameterArena query, Sgd sgd) {
        super(config, encoder, query, sgd);
        bank = MemoryBank.random(query.backend(), config.bankSize(), config.dim(), config.seed());
    }

    /** The bank (for checkpoints and inspection). */
    public MemoryBank bank() { return bank; }

    @Override
    Loss.Stats run(Tensor viewQ, Tensor viewK, int[] indices, long step) {
        int n = viewQ.dim(0);
        if (indices == null || indices.length != n)
            throw new IllegalArgumentException("moco: the memory bank needs the dataset index of each of the " + n
                    + " samples, got " + (indices == null ? "none" : indices.length));
        bank.checkIndices(indices);
        int[] negatives = random().sample(step, 0, config.queueSize(), bank.size());
        try (Tape tape = Tape.record()) {
            Tensor q = embed(query, viewQ);
            Loss loss = Ops.infoNce(q, bank.rows(indices), bank.rows(negatives), config.temperature());
            backwardAndUpdate(tape, loss);
            bank.update(indices, q, config.bankMomentum());
            return combine(loss);
        }
    }

    @Override
    public void close() { bank.close(); }
}
