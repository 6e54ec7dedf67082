package dev.jmoco.autograd;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.BatchNormShape;
import dev.jmoco.backend.Buffer;
import dev.jmoco.trace.Work;

/**
 * Batch normalisation over x [n, c, h, w] (or [n, c]) with per-channel gamma and beta. Training mode takes
 * statistics per group of the batch (groups = 1 is plain BN; more emulate shuffle-BN's per-GPU statistics),
 * updates the running statistics, and saves the per-group mean and inverse std for backward. Eval mode
 * normalises with the running statistics and is not differentiable.
 */
final class BatchNorm2dOp extends SingleOutputOp {
    private final BatchNormShape s;
    private final Tensor x, gamma, beta, y;
    private final Buffer mean, invStd;

    private BatchNorm2dOp(BatchNormShape s, Tensor x, Tensor gamma, Tensor beta, Tensor y, Buffer mean, Buffer invStd) {
        super("batchNorm2d", y);
        this.s = s; this.x = x; this.gamma = gamma; this.beta = beta; this.y = y;
        this.mean = mean; this.invStd = invStd;
    }

    static Tensor train(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, int groups,
                        float momentum, float eps) {
        BatchNormShape s = shape("batchNorm2d", x, gamma, beta, runningMean, runningVar, groups);
        boolean record = Tape.recordsFor(x, gamma, beta);
        Backend be = x.backend();
        Tensor y = Tape.output(be, record, x.shape());
        BatchNorm2dOp op = new BatchNorm2dOp(s, x, gamma, beta, y, be.allocate(s.statsSize()),
                be.allocate(s.statsSize()));
        Tape.run(op, record, () -> be.batchNormTrain(s, x.data(), gamma.data(), beta.data(), y.data(), op.mean,
                op.invStd, runningMean.data(), runningVar.data(), momentum, eps));
        return y;
    }

    static Tensor eval(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps) {
        BatchNormShape s = shape("batchNorm2d (eval)", x, gamma, beta, runningMean, runningVar, 1);
        if (Tape.recordsFor(x, gamma, beta))
            throw new IllegalStateException("batchNorm2d (eval): has no backward; run it in Tape.noGrad() or on "
                    + "tensors that do not require gradients");
        Tensor y = Tape.output(x.backend(), false, x.shape());
        x.backend().batchNormEval(s, x.data(), gamma.data(), beta.data(), runningMean.data(), runningVar.data(),
                eps, y.data());
        return y;
    }

    @Override
    void backward(Buffer dy, Backend be) {
        // The kernel produces all three gradients at once; those nobody needs go to scratch.
        Buffer dx = gradOf(x), dgamma = gradOf(gamma), dbeta = gradOf(beta);
        Buffer sx = dx == null ? be.allocate(s.size()) : null;
        Buffer sg = dgamma == null ? be.allocate(s.c()) : null;
        Buffer sb = dbeta == null ? be.allocate(s.c()) : null;
        try {
            be.batchNormBackward(s, x.data(), dy, gamma.data(), mean, invStd,
                    dx != null ? dx : sx, dgamma != null ? dgamma : sg, dbeta != null ? dbeta : sb);
        } finally {
            if (sx != null) sx.close();
            if (sg != null) sg.close();
            if (sb != null) sb.close();
        }
    }

    @Override
    void release() {
        mean.close();
        invStd.close();
    }

    private static BatchNormShape shape(String op, Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                        Tensor runningVar, int groups) {
        if (x.rank() != 2 && x.rank() != 4)
            throw new IllegalArgumentException(op + ": x must be [n, c, h, w] or [n, c], got " + Shapes.of(x));
        int c = x.dim(1);
        Shapes.vector(op, "gamma", gamma, "x", x, c, "channels");
        Shapes.vector(op, "beta", beta, "x", x, c, "channels");
        Shapes.vector(op, "running_mean", runningMean, "x", x, c, "channels");
        Shapes.vector(op, "running_var", runningVar, "x", x, c, "channels");
        if (groups < 1 || x.dim(0) % groups != 0)
            throw new IllegalArgumentException(op + ": batch of x " + Shapes.of(x) + " is not divisible into "
                    + groups + " groups");
        return new BatchNormShape(x.dim(0), c, x.rank() == 4 ? x.dim(2) * x.dim(3) : 1, groups);
    }

    @Override Work work(boolean backward) { return Work.streaming((backward ? 3.0 : 2.0) * x.size()); }
}
