package dev.jmoco.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * InfoNCE's per-block steps on the Vector API. Both products are register-blocked 4 x 4-vector tiles (16
 * accumulators, 4 row vectors and 1 broadcast: 21 of AVX-512's 32 registers): each step loads 4 vectors of 4L
 * consecutive rows (of the transposed queries, or of the probabilities) and broadcasts 4 queue values into 16
 * fused multiply-adds, so the queue is read in place, without packing. The softmax evaluates exp with a
 * polynomial on vectors, which is faster than the Vector API's EXP and does not depend on the JDK's SVML stubs.
 *
 * <p>C2 boxes a vector passed to, or returned from, a method it does not inline, and does not always inline
 * helpers of a hundred bytecodes or more; so the tiles are written out, and vectors never cross a method
 * boundary except through {@link #bc}, which is small enough to be inlined always. Only this class touches
 * jdk.incubator.vector; {@link #create()} is called only when the module is present.
 */
final class CpuInfoNceVectorKernels implements CpuInfoNceKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private CpuInfoNceVectorKernels() {}

    /** Declared as the interface type so that callers link without loading the Vector API. */
    static CpuInfoNceKernels create() { return new CpuInfoNceVectorKernels(); }

    @Override public int rowQuantum() { return L; }

    @Override
    public void logits(int r, int c, int nb, float[] qt, int qtOff, float[] keys, int kOff, float[] st, int stOff) {
        int j = 0;
        for (; j + 4 <= nb; j += 4) {
            int k0 = kOff + j * c, o = stOff + j * r, i = 0;
            for (; i + 4 * L <= r; i += 4 * L) logits4x4(r, c, qt, qtOff + i, keys, k0, st, o + i);
            for (; i < r; i += L) logits4x1(r, c, qt, qtOff + i, keys, k0, st, o + i);
        }
        for (; j < nb; j++)
            for (int i = 0; i < r; i += L) logits1x1(r, c, qt, qtOff + i, keys, kOff + j * c, st, stOff + j * r + i);
    }

    /** Keys k0 + {0..3} c against rows [qi, qi + 4L) of qt (row stride r); result rows of st at o + {0..3} r. */
    private static void logits4x4(int r, int c, float[] qt, int qi, float[] keys, int k0, float[] st, int o) {
        FloatVector zero = FloatVector.zero(S);
        FloatVector a00 = zero, a01 = zero, a02 = zero, a03 = zero, a10 = zero, a11 = zero, a12 = zero, a13 = zero;
        FloatVector a20 = zero, a21 = zero, a22 = zero, a23 = zero, a30 = zero, a31 = zero, a32 = zero, a33 = zero;
        int k1 = k0 + c, k2 = k1 + c, k3 = k2 + c;
        for (int cc = 0; cc < c; cc++, qi += r) {
            FloatVector x0 = FloatVector.fromArray(S, qt, qi), x1 = FloatVector.fromArray(S, qt, qi + L);
            FloatVector x2 = FloatVector.fromArray(S, qt, qi + 2 * L), x3 = FloatVector.fromArray(S, qt, qi + 3 * L);
            FloatVector b = FloatVector.broadcast(S, keys[k0 + cc]);
            a00 = x0.fma(b, a00); a01 = x1.fma(b, a01); a02 = x2.fma(b, a02); a03 = x3.fma(b, a03);
            b = FloatVector.broadcast(S, keys[k1 + cc]);
            a10 = x0.fma(b, a10); a11 = x1.fma(b, a11); a12 = x2.fma(b, a12); a13 = x3.fma(b, a13);
            b = FloatVector.broadcast(S, keys[k2 + cc]);
            a20 = x0.fma(b, a20); a21 = x1.fma(b, a21); a22 = x2.fma(b, a22); a23 = x3.fma(b, a23);
            b = FloatVector.broadcast(S, keys[k3 + cc]);
            a30 = x0.fma(b, a30); a31 = x1.fma(b, a31); a32 = x2.fma(b, a32); a33 = x3.fma(b, a33);
        }
        int o1 = o + r, o2 = o1 + r, o3 = o2 + r;
        a00.intoArray(st, o); a01.intoArray(st, o + L); a02.intoArray(st, o + 2 * L); a03.intoArray(st, o + 3 * L);
        a10.intoArray(st, o1); a11.intoArray(st, o1 + L); a12.intoArray(st, o1 + 2 * L); a13.intoArray(st, o1 + 3 * L);
        a20.intoArray(st, o2); a21.intoArray(st, o2 + L); a22.intoArray(st, o2 + 2 * L); a23.intoArray(st, o2 + 3 * L);
        a30.intoArray(st, o3); a31.intoArray(st, o3 + L); a32.intoArray(st, o3 + 2 * L); a33.intoArray(st, o3 + 3 * L);
    }

    /** As {@link #logits4x4} for L rows. */
    private static void logits4x1(int r, int c, float[] qt, int qi, float[] keys, int k0, float[] st, int o) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        int k1 = k0 + c, k2 = k1 + c, k3 = k2 + c;
        for (int cc = 0; cc < c; cc++, qi += r) {
            FloatVector x = FloatVector.fromArray(S, qt, qi);
            a0 = x.fma(bc(keys[k0 + cc]), a0); a1 = x.fma(bc(keys[k1 + cc]), a1);
            a2 = x.fma(bc(keys[k2 + cc]), a2); a3 = x.fma(bc(keys[k3 + cc]), a3);
        }
        a0.intoArray(st, o); a1.intoArray(st, o + r); a2.intoArray(st, o + 2 * r); a3.intoArray(st, o + 3 * r);
    }

    /** One key against L rows. */
    private static void logits1x1(int r, int c, float[] qt, int qi, float[] keys, int k0, float[] st, int o) {
        FloatVector a = FloatVector.zero(S);
        for (int cc = 0; cc < c; cc++, qi += r) a = FloatVector.fromArray(S, qt, qi).fma(bc(keys[k0 + cc]), a);
        a.intoArray(st, o);
    }

    @Override
    public void softmax(int r, int nb, float invT, float[] st, int stOff, float[] w, int so) {
        for (int i = 0; i < r; i += L) maxAndRank(r, nb, invT, st, stOff + i, w, so + i);
        // The max rarely moves after the first blocks, so alpha is almost always exactly 1: scalar is enough.
        for (int i = 0; i < r; i++) {
            float old = w[so + ALPHA * r + i], now = w[so + MAX * r + i];
            float alpha = old == now ? 1 : (float) Math.exp(old - now);
            w[so + ALPHA * r + i] = alpha;
            w[so + SUM * r + i] *= alpha;
        }
        for (int i = 0; i < r; i += L) expAndSum(r, nb, invT, st, stOff + i, w, so + i);
    }

    /**
     * For L rows (st column at o, state at s): adds to the rank the dots &gt;= the positive's, moves the old max
     * into ALPHA and raises MAX to cover the block. Kept apart from {@link #expAndSum}: small methods with one
     * hot loop each are compiled reliably well by C2.
     */
    private static void maxAndRank(int r, int nb, float invT, float[] st, int o, float[] w, int s) {
        FloatVector one = bc(1f), zero = bc(0f), pos = FloatVector.fromArray(S, w, s + POS * r);
        FloatVector rank = FloatVector.fromArray(S, w, s + RANK * r), blockMax = bc(Float.NEGATIVE_INFINITY);
        for (int j = 0; j < nb; j++, o += r) {
            FloatVector x = FloatVector.fromArray(S, st, o);
            blockMax = blockMax.max(x);
            // A blend, not a masked add, which C2 compiled to a slow path here.
            rank = rank.add(zero.blend(one, x.compare(VectorOperators.GE, pos)));
        }
        rank.intoArray(w, s + RANK * r);
        FloatVector oldMax = FloatVector.fromArray(S, w, s + MAX * r);
        oldMax.intoArray(w, s + ALPHA * r);
        oldMax.max(blockMax.mul(invT)).intoArray(w, s + MAX * r);
    }

    /** For L rows: p = exp(dot / t - max) over the block, written over the dots and added to SUM. */
    private static void expAndSum(int r, int nb, float invT, float[] st, int o, float[] w, int s) {
        FloatVector scale = bc(invT), negMax = FloatVector.fromArray(S, w, s + MAX * r).neg(), sum = bc(0f);
        for (int j = 0; j < nb; j++, o += r) {
            // exp(x) for x <= 0 written out here: a helper taking a vector is not always inlined, and then every
            // vector passed to it is boxed.
            FloatVector x = FloatVector.fromArray(S, st, o).fma(scale, negMax).max(-87f);
            FloatVector shifted = x.fma(LOG2E, MAGIC), n = shifted.sub(MAGIC);
            FloatVector f = n.fma(bc(-LN2_HI), x);
            f = n.fma(bc(-LN2_LO), f);
            FloatVector y = f.fma(P0, P1).fma(f, bc(P2)).fma(f, bc(P3)).fma(f, bc(P4)).fma(f, bc(P5));
            y = y.mul(f.mul(f)).add(f).add(1f);
            // The low 9 bits of shifted are n mod 512; n + 127, in [1, 254], goes into the exponent field.
            FloatVector p = y.mul(shifted.reinterpretAsInts().add(127).lanewise(VectorOperators.LSHL, 23)
                    .reinterpretAsFloats());
            p.intoArray(st, o);
            sum = sum.add(p);
        }
        FloatVector.fromArray(S, w, s + SUM * r).add(sum).intoArray(w, s + SUM * r);
    }

    @Override
    public void accumulate(int r, int c, int nb, float[] keys, int kOff, float[] p, int pOff, float[] alpha,
                           int alphaOff, float[] acc, int accOff) {
        int cc = 0;
        for (; cc + 4 <= c; cc += 4) {
            int i = 0;
            for (; i + 4 * L <= r; i += 4 * L)
                accumulate4x4(r, c, nb, keys, kOff + cc, p, pOff + i, alpha, alphaOff + i, acc, accOff + cc * r + i);
            for (; i < r; i += L)
                accumulate4x1(r, c, nb, keys, kOff + cc, p, pOff + i, alpha, alphaOff + i, acc, accOff + cc * r + i);
        }
        for (; cc < c; cc++)
            for (int i = 0; i < r; i += L)
                accumulate1x1(r, c, nb, keys, kOff + cc, p, pOff + i, alpha, alphaOff + i, acc, accOff + cc * r + i);
    }

    /** acc rows o + {0..3} r (columns kj + {0..3} of the keys), 4L probabilities from pj, rescaled by alpha. */
    private static void accumulate4x4(int r, int c, int nb, float[] keys, int kj, float[] p, int pj, float[] alpha,
                                      int ai, float[] acc, int o) {
        FloatVector s0 = FloatVector.fromArray(S, alpha, ai), s1 = FloatVector.fromArray(S, alpha, ai + L);
        FloatVector s2 = FloatVector.fromArray(S, alpha, ai + 2 * L), s3 = FloatVector.fromArray(S, alpha, ai + 3 * L);
        int o1 = o + r, o2 = o1 + r, o3 = o2 + r;
        FloatVector a00 = FloatVector.fromArray(S, acc, o).mul(s0), a01 = FloatVector.fromArray(S, acc, o + L).mul(s1);
        FloatVector a02 = FloatVector.fromArray(S, acc, o + 2 * L).mul(s2);
        FloatVector a03 = FloatVector.fromArray(S, acc, o + 3 * L).mul(s3);
        FloatVector a10 = FloatVector.fromArray(S, acc, o1).mul(s0), a11 = FloatVector.fromArray(S, acc, o1 + L).mul(s1);
        FloatVector a12 = FloatVector.fromArray(S, acc, o1 + 2 * L).mul(s2);
        FloatVector a13 = FloatVector.fromArray(S, acc, o1 + 3 * L).mul(s3);
        FloatVector a20 = FloatVector.fromArray(S, acc, o2).mul(s0), a21 = FloatVector.fromArray(S, acc, o2 + L).mul(s1);
        FloatVector a22 = FloatVector.fromArray(S, acc, o2 + 2 * L).mul(s2);
        FloatVector a23 = FloatVector.fromArray(S, acc, o2 + 3 * L).mul(s3);
        FloatVector a30 = FloatVector.fromArray(S, acc, o3).mul(s0), a31 = FloatVector.fromArray(S, acc, o3 + L).mul(s1);
        FloatVector a32 = FloatVector.fromArray(S, acc, o3 + 2 * L).mul(s2);
        FloatVector a33 = FloatVector.fromArray(S, acc, o3 + 3 * L).mul(s3);
        for (int j = 0; j < nb; j++, pj += r, kj += c) {
            FloatVector x0 = FloatVector.fromArray(S, p, pj), x1 = FloatVector.fromArray(S, p, pj + L);
            FloatVector x2 = FloatVector.fromArray(S, p, pj + 2 * L), x3 = FloatVector.fromArray(S, p, pj + 3 * L);
            FloatVector b = FloatVector.broadcast(S, keys[kj]);
            a00 = x0.fma(b, a00); a01 = x1.fma(b, a01); a02 = x2.fma(b, a02); a03 = x3.fma(b, a03);
            b = FloatVector.broadcast(S, keys[kj + 1]);
            a10 = x0.fma(b, a10); a11 = x1.fma(b, a11); a12 = x2.fma(b, a12); a13 = x3.fma(b, a13);
            b = FloatVector.broadcast(S, keys[kj + 2]);
            a20 = x0.fma(b, a20); a21 = x1.fma(b, a21); a22 = x2.fma(b, a22); a23 = x3.fma(b, a23);
            b = FloatVector.broadcast(S, keys[kj + 3]);
            a30 = x0.fma(b, a30); a31 = x1.fma(b, a31); a32 = x2.fma(b, a32); a33 = x3.fma(b, a33);
        }
        a00.intoArray(acc, o); a01.intoArray(acc, o + L); a02.intoArray(acc, o + 2 * L);
        a03.intoArray(acc, o + 3 * L);
        a10.intoArray(acc, o1); a11.intoArray(acc, o1 + L); a12.intoArray(acc, o1 + 2 * L);
        a13.intoArray(acc, o1 + 3 * L);
        a20.intoArray(acc, o2); a21.intoArray(acc, o2 + L); a22.intoArray(acc, o2 + 2 * L);
        a23.intoArray(acc, o2 + 3 * L);
        a30.intoArray(acc, o3); a31.intoArray(acc, o3 + L); a32.intoArray(acc, o3 + 2 * L);
        a33.intoArray(acc, o3 + 3 * L);
    }

    /** As {@link #accumulate4x4} for L rows. */
    private static void accumulate4x1(int r, int c, int nb, float[] keys, int kj, float[] p, int pj, float[] alpha,
                                      int ai, float[] acc, int o) {
        FloatVector s = FloatVector.fromArray(S, alpha, ai);
        FloatVector a0 = FloatVector.fromArray(S, acc, o).mul(s), a1 = FloatVector.fromArray(S, acc, o + r).mul(s);
        FloatVector a2 = FloatVector.fromArray(S, acc, o + 2 * r).mul(s);
        FloatVector a3 = FloatVector.fromArray(S, acc, o + 3 * r).mul(s);
        for (int j = 0; j < nb; j++, pj += r, kj += c) {
            FloatVector x = FloatVector.fromArray(S, p, pj);
            a0 = x.fma(bc(keys[kj]), a0); a1 = x.fma(bc(keys[kj + 1]), a1);
            a2 = x.fma(bc(keys[kj + 2]), a2); a3 = x.fma(bc(keys[kj + 3]), a3);
        }
        a0.intoArray(acc, o); a1.intoArray(acc, o + r); a2.intoArray(acc, o + 2 * r); a3.intoArray(acc, o + 3 * r);
    }

    /** One accumulator column (one key component) for L rows. */
    private static void accumulate1x1(int r, int c, int nb, float[] keys, int kj, float[] p, int pj, float[] alpha,
                                      int ai, float[] acc, int o) {
        FloatVector a = FloatVector.fromArray(S, acc, o).mul(FloatVector.fromArray(S, alpha, ai));
        for (int j = 0; j < nb; j++, pj += r, kj += c) a = FloatVector.fromArray(S, p, pj).fma(bc(keys[kj]), a);
        a.intoArray(acc, o);
    }

    private static FloatVector bc(float v) { return FloatVector.broadcast(S, v); }

    // exp as in Cephes expf: x = n ln2 + f with |f| <= ln2 / 2, exp(f) by a degree-7 polynomial (error ~1 ulp),
    // 2^n assembled in the exponent bits. n = round(x log2 e) comes from adding 1.5 * 2^23, which leaves n in
    // the low mantissa bits.
    // Arguments are clamped at -87 (e^-87 = 1.6e-38, still normal): the terms are added to sums of at least 1.
    private static final float MAGIC = 12582912f, LOG2E = 1.44269504f;
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;
}
