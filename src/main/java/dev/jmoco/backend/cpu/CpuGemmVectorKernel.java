package dev.jmoco.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API micro-kernel: a 4 x (4 vectors) tile of C (4 x 64 floats at 512 bits) held in 16 vector
 * accumulators; each step of k loads 4 vectors of B and broadcasts 4 values of packed A into 16 fused
 * multiply-adds; 21 live vectors fit the 32 registers of AVX-512. Measured at 1024^3 on one Zen 4 core, 4 x 4
 * matched or beat 4 x 3, 6 x 3, 8 x 3, 6 x 4, 8 x 2, 12 x 2 and 14 x 2 (all within about 15%), and its
 * 4-row, 64-column tile divides the usual channel counts. The code adapts to any preferred vector width.
 * <p>
 * The body is deliberately plain straight-line code with no vector-typed helper methods: when C2 runs out of
 * inlining budget (NodeCountInliningCutoff) at a call that passes or returns vectors, those vectors are boxed
 * as objects and the kernel ran 5x slower, depending on which shapes had warmed it up. beta is folded into
 * the accumulators' start values and alpha into the packed A, so the tile is written with plain stores.
 * Only this class touches jdk.incubator.vector; {@link #create()} is called only when that module is present.
 */
final class CpuGemmVectorKernel extends CpuGemmKernel {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length(), MR = 4, NR = 4 * L;

    private CpuGemmVectorKernel() { super(MR, NR); }

    /** Declared as the base type so that callers link without loading the Vector API. */
    static CpuGemmKernel create() { return new CpuGemmVectorKernel(); }

    /**
     * An 8 x (1 vector) kernel for narrow C (16 columns at 512 bits): the 4 x 64 tile would compute 4x the
     * needed work when n = 16, as in the 4 x 4 feature maps of ResNet's last stage.
     */
    static CpuGemmKernel createNarrow() { return new Narrow(); }

    @Override String name() { return name(S); }

    private static String name(VectorSpecies<Float> species) {
        return "vector-api (" + species.vectorBitSize() + "-bit)";
    }

    @Override
    void run(int kc, float[] a, int ao, float[] b, int bo, int ldb, float beta, float[] c, int co, int ldc) {
        FloatVector c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33;
        if (beta == 0) { // C is not read
            FloatVector z = FloatVector.zero(S);
            c00 = z; c01 = z; c02 = z; c03 = z;
            c10 = z; c11 = z; c12 = z; c13 = z;
            c20 = z; c21 = z; c22 = z; c23 = z;
            c30 = z; c31 = z; c32 = z; c33 = z;
        } else {
            FloatVector bv = FloatVector.broadcast(S, beta);
            c00 = FloatVector.fromArray(S, c, co).mul(bv);
            c01 = FloatVector.fromArray(S, c, co + L).mul(bv);
            c02 = FloatVector.fromArray(S, c, co + 2 * L).mul(bv);
            c03 = FloatVector.fromArray(S, c, co + 3 * L).mul(bv);
            c10 = FloatVector.fromArray(S, c, co + 1 * ldc).mul(bv);
            c11 = FloatVector.fromArray(S, c, co + 1 * ldc + L).mul(bv);
            c12 = FloatVector.fromArray(S, c, co + 1 * ldc + 2 * L).mul(bv);
            c13 = FloatVector.fromArray(S, c, co + 1 * ldc + 3 * L).mul(bv);
            c20 = FloatVector.fromArray(S, c, co + 2 * ldc).mul(bv);
            c21 = FloatVector.fromArray(S, c, co + 2 * ldc + L).mul(bv);
            c22 = FloatVector.fromArray(S, c, co + 2 * ldc + 2 * L).mul(bv);
            c23 = FloatVector.fromArray(S, c, co + 2 * ldc + 3 * L).mul(bv);
            c30 = FloatVector.fromArray(S, c, co + 3 * ldc).mul(bv);
            c31 = FloatVector.fromArray(S, c, co + 3 * ldc + L).mul(bv);
            c32 = FloatVector.fromArray(S, c, co + 3 * ldc + 2 * L).mul(bv);
            c33 = FloatVector.fromArray(S, c, co + 3 * ldc + 3 * L).mul(bv);
        }
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
        c00.intoArray(c, co);
        c01.intoArray(c, co + L);
        c02.intoArray(c, co + 2 * L);
        c03.intoArray(c, co + 3 * L);
        c10.intoArray(c, co + 1 * ldc);
        c11.intoArray(c, co + 1 * ldc + L);
        c12.intoArray(c, co + 1 * ldc + 2 * L);
        c13.intoArray(c, co + 1 * ldc + 3 * L);
        c20.intoArray(c, co + 2 * ldc);
        c21.intoArray(c, co + 2 * ldc + L);
        c22.intoArray(c, co + 2 * ldc + 2 * L);
        c23.intoArray(c, co + 2 * ldc + 3 * L);
        c30.intoArray(c, co + 3 * ldc);
        c31.intoArray(c, co + 3 * ldc + L);
        c32.intoArray(c, co + 3 * ldc + 2 * L);
        c33.intoArray(c, co + 3 * ldc + 3 * L);
    }

    /** The narrow variant for C with fewer than 64 columns, see {@link #createNarrow()}. */
    private static final class Narrow extends CpuGemmKernel {
        private static final int MR = 8;

        private Narrow() { super(MR, L); }

        @Override String name() { return CpuGemmVectorKernel.name(S); }

        @Override
        void run(int kc, float[] a, int ao, float[] b, int bo, int ldb, float beta, float[] c, int co, int ldc) {
            FloatVector c0, c1, c2, c3, c4, c5, c6, c7;
            if (beta == 0) { // C is not read
                FloatVector z = FloatVector.zero(S);
                c0 = z; c1 = z; c2 = z; c3 = z; c4 = z; c5 = z; c6 = z; c7 = z;
            } else {
                FloatVector bv = FloatVector.broadcast(S, beta);
                c0 = FloatVector.fromArray(S, c, co).mul(bv);
                c1 = FloatVector.fromArray(S, c, co + 1 * ldc).mul(bv);
                c2 = FloatVector.fromArray(S, c, co + 2 * ldc).mul(bv);
                c3 = FloatVector.fromArray(S, c, co + 3 * ldc).mul(bv);
                c4 = FloatVector.fromArray(S, c, co + 4 * ldc).mul(bv);
                c5 = FloatVector.fromArray(S, c, co + 5 * ldc).mul(bv);
                c6 = FloatVector.fromArray(S, c, co + 6 * ldc).mul(bv);
                c7 = FloatVector.fromArray(S, c, co + 7 * ldc).mul(bv);
            }
            for (int p = 0; p < kc; p++) {
                int ap = ao + p * MR;
                FloatVector bv = FloatVector.fromArray(S, b, bo + p * ldb);
                c0 = FloatVector.broadcast(S, a[ap]).fma(bv, c0);
                c1 = FloatVector.broadcast(S, a[ap + 1]).fma(bv, c1);
                c2 = FloatVector.broadcast(S, a[ap + 2]).fma(bv, c2);
                c3 = FloatVector.broadcast(S, a[ap + 3]).fma(bv, c3);
                c4 = FloatVector.broadcast(S, a[ap + 4]).fma(bv, c4);
                c5 = FloatVector.broadcast(S, a[ap + 5]).fma(bv, c5);
                c6 = FloatVector.broadcast(S, a[ap + 6]).fma(bv, c6);
                c7 = FloatVector.broadcast(S, a[ap + 7]).fma(bv, c7);
            }
            c0.intoArray(c, co);
            c1.intoArray(c, co + 1 * ldc);
            c2.intoArray(c, co + 2 * ldc);
            c3.intoArray(c, co + 3 * ldc);
            c4.intoArray(c, co + 4 * ldc);
            c5.intoArray(c, co + 5 * ldc);
            c6.intoArray(c, co + 6 * ldc);
            c7.intoArray(c, co + 7 * ldc);
        }
    }
}
