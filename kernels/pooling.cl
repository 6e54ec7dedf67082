#include "jmoco.h"

/*
 * Max pooling and global average pooling over NCHW (see Backend and CpuPooling). A "plane" is one [h, w]
 * image of one channel of one sample.
 */

/* POOL_WG (256, from KernelGeometry as -D): threads of an average-pool work-group (a power of two, for the tree);
   the host launches exactly this many. */

/*
 * One work-item per output value, consecutive items along a row of the output (their window loads are
 * stride floats apart, so a work-group's loads share cache lines). The scan mirrors PyTorch and the CPU
 * backend: padding is skipped (it acts as -infinity), the first maximum wins ties (-0 and +0 tie), a NaN takes
 * over whenever one is seen (so the last NaN wins), and a window of -infinity reports its first in-bounds
 * element. argmax holds the winner's index h * w + x within its plane, as a float (exact below 2^24).
 */
KERNEL void pool_max_fwd(GLOBAL const float* x, int x_off, GLOBAL float* y, int y_off,
                         GLOBAL float* argmax, int argmax_off, int total, int h, int w, int p, int q,
                         int window, int stride, int pad) {
    int o = GLOBAL_ID(0);
    if (o >= total) return;
    int plane = o / (p * q), r = o - plane * (p * q), oy = r / q, ox = r - oy * q;
    int top = oy * stride - pad, left = ox * stride - pad;
    int y0 = max(0, top), y1 = min(h, top + window), x0 = max(0, left), x1 = min(w, left + window);
    GLOBAL const float* in = x + x_off + plane * h * w;
    /* Starting from the first in-bounds element is the same as starting from -infinity with that index. */
    int arg = y0 * w + x0;
    float best = in[arg];
    for (int iy = y0; iy < y1; iy++)
        for (int ix = x0; ix < x1; ix++) {
            float v = in[iy * w + ix];
            if (v > best || isnan(v)) {
                best = v;
                arg = iy * w + ix;
            }
        }
    y[y_off + o] = best;
    argmax[argmax_off + o] = (float) arg;
}

/*
 * dx[argmax] += dy in gather form, so no two work-items write the same value (no atomics, deterministic):
 * one work-item per input value visits the outputs whose windows contain it, in output order, and adds the
 * dy of those that chose it. Rows oy of such windows satisfy oy stride - pad <= iy < oy stride - pad + window.
 * Adding in output order onto dx gives the CPU backend's sums bit for bit.
 */
KERNEL void pool_max_bwd(GLOBAL const float* dy, int dy_off, GLOBAL const float* argmax, int argmax_off,
                         GLOBAL float* dx, int dx_off, int total, int h, int w, int p, int q,
                         int window, int stride, int pad) {
    int i = GLOBAL_ID(0);
    if (i >= total) return;
    int plane = i / (h * w), at = i - plane * (h * w), iy = at / w, ix = at - iy * w;
    int ay = iy + pad - window + 1, ax = ix + pad - window + 1; /* first window start that still covers iy/ix */
    int oy0 = ay <= 0 ? 0 : (ay + stride - 1) / stride, oy1 = min(p - 1, (iy + pad) / stride);
    int ox0 = ax <= 0 ? 0 : (ax + stride - 1) / stride, ox1 = min(q - 1, (ix + pad) / stride);
    int base = plane * p * q;
    float acc = dx[dx_off + i];
    for (int oy = oy0; oy <= oy1; oy++)
        for (int ox = ox0; ox <= ox1; ox++) {
            int o = base + oy * q + ox;
            if ((int) argmax[argmax_off + o] == at) acc += dy[dy_off + o];
        }
    dx[dx_off + i] = acc;
}

/*
 * y[plane] = mean of its hw values. Work-item (lane, p) of a 2-D launch (see PlaneLayout) sums values lane,
 * lane + lanes, ... of plane p, lanes a power of two chosen by the host near hw / 4: small planes (4 x 4, 7 x 7
 * at the end of a ResNet) then share a work-group of POOL_WG threads instead of idling most of one, and
 * consecutive lanes read consecutive floats. Each plane's lanes are summed by a fixed tree in local memory
 * (deterministic). Work-groups advance by the grid's height, uniformly, so every thread meets every barrier.
 */
KERNEL void pool_avg_fwd(GLOBAL const float* x, int x_off, GLOBAL float* y, int y_off, int planes, int hw) {
    LOCAL float sums[POOL_WG];
    int lane = LOCAL_ID(0), lanes = LOCAL_SIZE(0), slot = LOCAL_ID(1) * lanes + lane;
    for (int first = GROUP_ID(1) * LOCAL_SIZE(1); first < planes; first += NUM_GROUPS(1) * LOCAL_SIZE(1)) {
        int plane = first + LOCAL_ID(1);
        float s = 0.0f;
        for (int base = 0; base < hw; base += lanes)
            if (plane < planes && base + lane < hw) s += x[x_off + plane * hw + base + lane];
        sums[slot] = s;
        BARRIER();
        for (int s_ = lanes / 2; s_ > 0; s_ >>= 1) {
            if (lane < s_) sums[slot] += sums[slot + s_];
            BARRIER();
        }
        if (lane == 0 && plane < planes) y[y_off + plane] = sums[slot] / (float) hw;
        BARRIER(); /* the next round's sums overwrite this one's only after it is read */
    }
}

/* dx[plane, k] += dy[plane] / hw; work-item (lane, p) walks planes as bn_normalize (see PlaneLayout). */
KERNEL void pool_avg_bwd(GLOBAL const float* dy, int dy_off, GLOBAL float* dx, int dx_off, int planes, int hw) {
    for (int plane = GLOBAL_ID(1); plane < planes; plane += NUM_GROUPS(1) * LOCAL_SIZE(1)) {
        float share = dy[dy_off + plane] / (float) hw;
        for (int base = 0; base < hw; base += LOCAL_SIZE(0))
            if (base + LOCAL_ID(0) < hw) dx[dx_off + plane * hw + base + LOCAL_ID(0)] += share;
    }
}
