package dev.jmoco.backend.cpu;

/**
 * InfoNCE's per-block steps without the Vector API: the two products go to the serial GEMM (itself plain Java
 * when the module is absent), the softmax is a scalar loop. Used when jdk.incubator.vector is not present, and
 * by the tests as a second, simpler implementation of {@link CpuInfoNceKernels}.
 */
final class CpuInfoNceScalarKernels implements CpuInfoNceKernels {
    private final CpuBackend backend;
    private final CpuGemm gemm;

    CpuInfoNceScalarKernels(CpuBackend backend, CpuGemm gemm) {
        this.backend = backend;
        this.gemm = gemm;
    }

    @Override public int rowQuantum() { return 1; }

    @Override
    public void logits(int r, int c, int nb, float[] qt, int qtOff, float[] keys, int kOff, float[] st, int stOff) {
        gemm.gemmSerial(false, false, nb, r, c, 1, view(keys, kOff, nb * c), view(qt, qtOff, c * r), 0,
                view(st, stOff, nb * r));
    }

    @Override
    public void softmax(int r, int nb, float invT, float[] st, int stOff, float[] w, int so) {
        for (int i = 0; i < r; i++) {
            float pos = w[so + POS * r + i], blockMax = Float.NEGATIVE_INFINITY;
            int rank = 0;
            for (int j = 0; j < nb; j++) {
                float s = st[stOff + j * r + i];
                blockMax = Math.max(blockMax, s);
                if (s >= pos) rank++;
            }
            float oldMax = w[so + MAX * r + i], newMax = Math.max(oldMax, blockMax * invT);
            float sum = 0;
            for (int j = 0; j < nb; j++) {
                int o = stOff + j * r + i;
                float p = (float) Math.exp(Math.fma(st[o], invT, -newMax));
                st[o] = p;
                sum += p;
            }
            float alpha = (float) Math.exp(oldMax - newMax);
            w[so + SUM * r + i] = w[so + SUM * r + i] * alpha + sum;
            w[so + ALPHA * r + i] = alpha;
            w[so + MAX * r + i] = newMax;
            w[so + RANK * r + i] += rank;
        }
    }

    @Override
    public void accumulate(int r, int c, int nb, float[] keys, int kOff, float[] p, int pOff, float[] alpha,
                           int alphaOff, float[] acc, int accOff) {
        for (int cc = 0; cc < c; cc++)
            for (int i = 0; i < r; i++) acc[accOff + cc * r + i] *= alpha[alphaOff + i];
        gemm.gemmSerial(true, false, c, r, nb, 1, view(keys, kOff, nb * c), view(p, pOff, nb * r), 1,
                view(acc, accOff, c * r));
    }

    private CpuBuffer view(float[] array, int offset, int size) {
        return new CpuBuffer(backend, array, offset, size, false);
    }
}
