package dev.jmoco.backend.cpu;

import dev.jmoco.backend.PoolShape;

/**
 * Max pooling and global average pooling (see Backend). Every op works plane by plane (one [h, w] image of
 * one channel of one sample), and tasks own whole planes, so backward passes that scatter into dx never race.
 */
final class CpuPooling {
    /** Elements visited per task below which a loop stays on the caller's thread. */
    private static final int GRAIN = 1 << 15;
    /** The key of every NaN, above the key of +infinity. */
    private static final int NAN_KEY = Integer.MAX_VALUE;

    private final Parallel parallel;

    CpuPooling(Parallel parallel) { this.parallel = parallel; }

    /**
     * Window maxima as PyTorch computes them ({@code if (v > best || isnan(v))} over the window in row-major
     * order): padding is skipped (it acts as -infinity), the first maximum wins ties, every NaN takes over (so
     * the last NaN wins), and a window of -infinity reports its first in-bounds element. The scan compares
     * int keys (see {@link #orderKey}) so that C2 emits conditional moves: a float compare compiles to a
     * branch, which random activations mispredict (measured 1.5 to 2x slower).
     */
    void maxPool(PoolShape s, CpuBuffer x, CpuBuffer y, CpuBuffer argmax) {
        int h = s.h(), w = s.w(), p = s.p(), q = s.q(), win = s.window(), stride = s.stride(), pad = s.pad();
        float[] xa = x.array, ya = y.array, aa = argmax.array;
        int xo = x.offset, yo = y.offset, ao = argmax.offset;
        parallel.forRange(s.n() * s.c(), grain((long) p * q * win * win), (p0, p1) -> {
            for (int plane = p0; plane < p1; plane++) {
                int in = xo + plane * h * w, out = plane * p * q;
                for (int oy = 0; oy < p; oy++) {
                    int top = oy * stride - pad, y0 = Math.max(0, top), y1 = Math.min(h, top + win);
                    for (int ox = 0; ox < q; ox++) {
                        int left = ox * stride - pad, x0 = Math.max(0, left), x1 = Math.min(w, left + win);
                        int bestKey = Integer.MIN_VALUE, arg = y0 * w + x0;
                        for (int iy = y0; iy < y1; iy++)
                            for (int ix = x0; ix < x1; ix++) {
                                int at = iy * w + ix, key = orderKey(xa[in + at]);
                                arg = (key > bestKey) | (key == NAN_KEY) ? at : arg; // a conditional move
                                bestKey = Math.max(bestKey, key);
                            }
                        int o = out + oy * q + ox;
                        ya[yo + o] = xa[in + arg];
                        aa[ao + o] = arg;
                    }
                }
            }
        });
    }

    /** dx[argmax] += dy; windows that overlap may name one input twice, which adds up within the plane's task. */
    void maxPoolBackward(PoolShape s, CpuBuffer dy, CpuBuffer argmax, CpuBuffer dx) {
        int hw = s.h() * s.w(), pq = s.p() * s.q();
        float[] d = dy.array, aa = argmax.array, g = dx.array;
        int dyo = dy.offset, ao = argmax.offset, dxo = dx.offset;
        parallel.forRange(s.n() * s.c(), grain(pq), (p0, p1) -> {
            for (int plane = p0; plane < p1; plane++) {
                int in = dxo + plane * hw, out = plane * pq;
                for (int o = out; o < out + pq; o++) g[in + (int) aa[ao + o]] += d[dyo + o];
            }
        });
    }

    /** y[plane] = mean of the plane's hw values; planes = n * c. */
    void globalAvgPool(int planes, int hw, CpuBuffer x, CpuBuffer y) {
        float[] xa = x.array, ya = y.array;
        int xo = x.offset, yo = y.offset;
        parallel.forRange(planes, grain(hw), (p0, p1) -> {
            for (int plane = p0; plane < p1; plane++)
                ya[yo + plane] = (float) (CpuReductions.sum(xa, xo + plane * hw, hw) / hw);
        });
    }

    /** dx[plane, k] += dy[plane] / hw. */
    void globalAvgPoolBackward(int planes, int hw, CpuBuffer dy, CpuBuffer dx) {
        float[] d = dy.array, g = dx.array;
        int dyo = dy.offset, dxo = dx.offset;
        parallel.forRange(planes, grain(hw), (p0, p1) -> {
            for (int plane = p0; plane < p1; plane++) {
                float share = d[dyo + plane] / hw;
                int in = dxo + plane * hw;
                for (int k = 0; k < hw; k++) g[in + k] += share;
            }
        });
    }

    /**
     * An int that orders like the float: the magnitude bits for v &gt;= 0, their negation for v &lt;= 0 (so -0
     * and +0 tie, as they compare equal), and {@link #NAN_KEY} for NaN of either sign.
     */
    private static int orderKey(float v) {
        int bits = Float.floatToRawIntBits(v), magnitude = bits & 0x7fffffff, sign = bits >> 31;
        return magnitude > 0x7f800000 ? NAN_KEY : (magnitude ^ sign) - sign;
    }

    /** Planes per task so that a task visits at least GRAIN elements. */
    private static int grain(long workPerPlane) { return (int) Math.max(1, GRAIN / Math.max(1, workPerPlane)); }
}
