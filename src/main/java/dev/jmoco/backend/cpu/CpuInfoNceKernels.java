package dev.jmoco.backend.cpu;

/**
 * The three steps {@link CpuInfoNce} runs per block of {@code nb} queue keys for a panel of {@code r} query rows.
 * Everything is stored "keys by rows" so that the row index is the contiguous, vectorised one: the panel's
 * queries transposed ({@code qt} [c, r]), the logits block ({@code st} [nb, r]) and the gradient accumulator
 * ({@code acc} [c, r]). The online-softmax state is five arrays of r floats at {@code state + i * r}:
 * the positive dot product (0), the running max logit (1), the running sum of negative exponentials (2), the
 * rescale factor of the last block (3) and the rank (4, see {@link CpuLosses}). {@code r} is always a multiple
 * of {@link #rowQuantum()}.
 */
interface CpuInfoNceKernels {
    int POS = 0, MAX = 1, SUM = 2, ALPHA = 3, RANK = 4, STATE_ARRAYS = 5;

    /** The panel width r must be a multiple of this. */
    int rowQuantum();

    /** st[j, i] = keys[j, :] . qt[:, i] (raw dot products) for j &lt; nb, i &lt; r. */
    void logits(int r, int c, int nb, float[] qt, int qtOff, float[] keys, int kOff, float[] st, int stOff);

    /**
     * Online softmax over one block: counts into the rank the raw dots &gt;= the positive one, raises the
     * running max to cover the block's logits (dot / t), rescales the running sum by
     * alpha = exp(oldMax - newMax) (stored for {@link #accumulate}), overwrites st with
     * p = exp(dot / t - newMax) and adds them to the sum.
     */
    void softmax(int r, int nb, float invT, float[] st, int stOff, float[] state, int stateOff);

    /** acc[cc, i] = alpha[i] acc[cc, i] + sum over j &lt; nb of keys[j, cc] p[j, i]. */
    void accumulate(int r, int c, int nb, float[] keys, int kOff, float[] p, int pOff, float[] alpha, int alphaOff,
                    float[] acc, int accOff);
}
