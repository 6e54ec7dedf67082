package dev.jmoco.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The EMA and SGD loops of {@link CpuUpdates} on the Vector API. C2 does not vectorise the plain loops by
 * itself: the buffers are views of float arrays at unknown offsets that may overlap, so it cannot prove the
 * iterations independent (measured: about 2 cycles per element in cache, where these take a fraction of one).
 * The arithmetic is the scalar loops' exactly (no fused multiply-add), so both paths give the same bits. Only
 * this class touches jdk.incubator.vector; it is called only when the module is present.
 */
final class CpuUpdateVectorLoops {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private CpuUpdateVectorLoops() {}

    /** t[to + i] = m t[to + i] + (1 - m) s[so + i] for i in [start, end); returns where the vector part ended. */
    static int ema(float m, float[] t, int to, float[] s, int so, int start, int end) {
        FloatVector vm = FloatVector.broadcast(S, m), vom = FloatVector.broadcast(S, 1 - m);
        int i = start;
        for (int upper = start + S.loopBound(end - start); i < upper; i += S.length()) {
            FloatVector x = FloatVector.fromArray(S, t, to + i).mul(vm);
            x.add(FloatVector.fromArray(S, s, so + i).mul(vom)).intoArray(t, to + i);
        }
        return i;
    }

    /** The SGD step for i in [start, end) (see CpuUpdates#sgd); returns where the vector part ended. */
    static int sgd(float lr, float momentum, float weightDecay, float[] p, int po, float[] g, int go, float[] v,
                   int vo, int start, int end) {
        FloatVector vlr = FloatVector.broadcast(S, lr), vmom = FloatVector.broadcast(S, momentum);
        FloatVector vwd = FloatVector.broadcast(S, weightDecay);
        int i = start;
        for (int upper = start + S.loopBound(end - start); i < upper; i += S.length()) {
            FloatVector param = FloatVector.fromArray(S, p, po + i);
            FloatVector d = FloatVector.fromArray(S, g, go + i).add(param.mul(vwd));
            FloatVector vel = FloatVector.fromArray(S, v, vo + i).mul(vmom).add(d);
            vel.intoArray(v, vo + i);
            param.sub(vel.mul(vlr)).intoArray(p, po + i);
        }
        return i;
    }
}
