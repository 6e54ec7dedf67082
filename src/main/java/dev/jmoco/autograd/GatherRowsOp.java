package dev.jmoco.autograd;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;

/**
 * y[i] = x[index[i]] along the first dimension (shuffle-BN's shuffle, and its unshuffle with the inverse
 * permutation). Backward scatters dy back and adds, so repeated indices accumulate.
 */
final class GatherRowsOp extends SingleOutputOp {
    private final Tensor x, y;
    private final int[] index;
    private final int cols;

    private GatherRowsOp(Tensor x, Tensor y, int[] index, int cols) {
        super("gatherRows", y);
        this.x = x; this.y = y; this.index = index; this.cols = cols;
    }

    static Tensor apply(Tensor x, int[] index) {
        if (index.length == 0) throw new IllegalArgumentException("gatherRows: empty index for x " + Shapes.of(x));
        for (int i = 0; i < index.length; i++)
            if (index[i] < 0 || index[i] >= x.dim(0))
                throw new IllegalArgumentException("gatherRows: index[" + i + "] = " + index[i] + " outside the "
                        + x.dim(0) + " rows of x " + Shapes.of(x));
        int cols = (int) (x.size() / x.dim(0));
        int[] shape = x.shape();
        shape[0] = index.length;
        boolean record = Tape.recordsFor(x);
        Tensor y = Tape.output(x.backend(), record, shape);
        int[] saved = index.clone(); // the caller may reuse its array before backward
        Tape.run(new GatherRowsOp(x, y, saved, cols), record,
                () -> x.backend().gatherRows(cols, x.data(), saved, y.data()));
        return y;
    }

    @Override
    void backward(Buffer dy, Backend be) {
        Buffer dx = gradOf(x);
        if (dx != null) be.scatterRows(cols, dy, index, dx, true);
    }
}
