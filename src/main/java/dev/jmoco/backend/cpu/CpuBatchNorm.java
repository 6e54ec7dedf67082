package dev.jmoco.backend.cpu;

import dev.jmoco.backend.BatchNormShape;

/** Batch normalisation with per-group statistics (see Backend#batchNormTrain). */
final class CpuBatchNorm {
    private final Parallel parallel;

    CpuBatchNorm(Parallel parallel) { this.parallel = parallel; }

    void train(BatchNormShape s, CpuBuffer x, CpuBuffer gamma, CpuBuffer beta, CpuBuffer y, CpuBuffer mean,
               CpuBuffer invStd, CpuBuffer runningMean, CpuBuffer runningVar, float momentum, float eps) { throw new UnsupportedOperationException("not implemented yet"); }
    void eval(BatchNormShape s, CpuBuffer x, CpuBuffer gamma, CpuBuffer beta, CpuBuffer runningMean,
              CpuBuffer runningVar, float eps, CpuBuffer y) { throw new UnsupportedOperationException("not implemented yet"); }
    void backward(BatchNormShape s, CpuBuffer x, CpuBuffer dy, CpuBuffer gamma, CpuBuffer mean, CpuBuffer invStd,
                  CpuBuffer dx, CpuBuffer dgamma, CpuBuffer dbeta) { throw new UnsupportedOperationException("not implemented yet"); }
}
