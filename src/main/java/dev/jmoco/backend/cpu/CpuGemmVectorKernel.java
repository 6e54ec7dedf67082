package dev.jmoco.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API micro-kernel: a 4 x (4 vectors) tile of C (4 x 64 floats at 512 bits) held in 16 vector
 * accumulators; each step of k loads 4 vectors of B and broadcasts 4 values of packed A into 16 fused
 * multiply-adds; 21 live vectors fit the 32 registers of AVX-512. Measured at 1024^3 on one Zen 4 core, 4 x 4
 * matched or beat 4 x 3, 6 x 3, 8 x 3, 6 x 4, 8 x 2, 12 x 2 and 14 x 2 (all within about 15%), and its
 * 4-row, 64-column tile divides the usual channel counts. The code adapts to any preferred vector width.
 * Only this class touches jdk.incubator.vector; {@link #create()} is called only when that module is present.
 */
final class CpuGemmVectorKernel extends CpuGemmKernel {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length(), MR = 4, NR = 4 * L;

    private CpuGemmVectorKernel() { super(MR, NR); }

    /** Declared as the base type so that callers link without loading the Vector API. */
    static CpuGemmKernel create() { return new CpuGemmVectorKernel(); }

    @Override String name() { return "vector-api (" + S.vectorBitSize() + "-bit)"; }

    @Override
    void run(int kc, float[] a, int ao, float[] b, int bo, int ldb, float alpha, float beta, float[] c, int co,
             int ldc) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c02 = z, c03 = z;
        FloatVector c10 = z, c11 = z, c12 = z, c13 = z;
        FloatVector c20 = z, c21 = z, c22 = z, c23 = z;
        FloatVector c30 = z, c31 = z, c32 = z, c33 = z;
        for (int p = 0; p < kc; p++) {
            int bp = bo + p * ldb, ap = ao + p * MR;
            FloatVector b0 = FloatVector.fromArray(S, b, bp), b1 = FloatVector.fromArray(S, b, bp + L);
            FloatVector b2 = FloatVector.fromArray(S, b, bp + 2 * L), b3 = FloatVector.fromArray(S, b, bp + 3 * L);
            FloatVector av = FloatVector.broadcast(S, a[ap]);
            c00 = av.fma(b0, c00); c01 = av.fma(b1, c01); c02 = av.fma(b2, c02); c03 = av.fma(b3, c03);
            av = FloatVector.broadcast(S, a[ap + 1]);
            c10 = av.fma(b0, c10); c11 = av.fma(b1, c11); c12 = av.fma(b2, c12); c13 = av.fma(b3, c13);
            av = FloatVector.broadcast(S, a[ap + 2]);
            c20 = av.fma(b0, c20); c21 = av.fma(b1, c21); c22 = av.fma(b2, c22); c23 = av.fma(b3, c23);
            av = FloatVector.broadcast(S, a[ap + 3]);
            c30 = av.fma(b0, c30); c31 = av.fma(b1, c31); c32 = av.fma(b2, c32); c33 = av.fma(b3, c33);
        }
        store(c, co, alpha, beta, c00, c01, c02, c03);
        store(c, co + 1 * ldc, alpha, beta, c10, c11, c12, c13);
        store(c, co + 2 * ldc, alpha, beta, c20, c21, c22, c23);
        store(c, co + 3 * ldc, alpha, beta, c30, c31, c32, c33);
    }

    /** One row of the tile: c[i..i + 4L) = alpha (v0 .. v3) + beta c[...], not reading C when beta = 0. */
    private static void store(float[] c, int i, float alpha, float beta, FloatVector v0, FloatVector v1,
                              FloatVector v2, FloatVector v3) {
        store(c, i, alpha, beta, v0);
        store(c, i + L, alpha, beta, v1);
        store(c, i + 2 * L, alpha, beta, v2);
        store(c, i + 3 * L, alpha, beta, v3);
    }

    private static void store(float[] c, int i, float alpha, float beta, FloatVector acc) {
        FloatVector r = acc.mul(alpha);
        if (beta == 1) r = r.add(FloatVector.fromArray(S, c, i));
        else if (beta != 0) r = FloatVector.fromArray(S, c, i).fma(FloatVector.broadcast(S, beta), r);
        r.intoArray(c, i);
    }
}
