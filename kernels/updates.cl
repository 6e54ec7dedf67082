#include "jmoco.h"

/*
 * The MoCo state updates (dev.jmoco.backend.Backend: ema, enqueue, sgd). EMA and SGD run once per step over
 * the whole parameter arena (tens of MB): they are pure bandwidth, so the only goals are coalesced access and
 * few instructions per byte. Where the views are 16-byte aligned relative to each other, the float4 kernels
 * move 16 bytes per load (fewer memory instructions; on NVIDIA one LDG.128 instead of four LDG.32).
 */

DEVICE_FN float ema1(float m, float om, float t, float s) { return m * t + om * s; }

/* target = m target + (1 - m) source, the reference MoCo formula; om = 1 - m is rounded once on the host. */
KERNEL void upd_ema(float m, float om, GLOBAL float* t, int t_off, GLOBAL const float* s, int s_off, int n) {
    int i = GLOBAL_ID(0);
    if (i < n) t[t_off + i] = ema1(m, om, t[t_off + i], s[s_off + i]);
}

/*
 * The same with float4 loads. Requires t_off = s_off (mod 4) (the host checks): the first `head` elements
 * (up to the next multiple of 4 of t_off) and the last `tail` ones are done one float at a time, the
 * nvec = (n - head) / 4 float4s in between one per work-item. Work-item g does float4 number g and, if
 * g < head + tail, also one scalar element, so the global size is max(nvec, head + tail). cl_mem and cudaMalloc
 * bases are at least 16-byte aligned, so t + t_off + head is too.
 */
KERNEL void upd_ema4(float m, float om, GLOBAL float* t, int t_off, GLOBAL const float* s, int s_off, int n) {
    int g = GLOBAL_ID(0);
    int head = (4 - (t_off & 3)) & 3;
    if (head > n) head = n;
    int nvec = (n - head) >> 2;
    int edge = head + 4 * nvec;
    if (g < nvec) {
        GLOBAL float4* tv = (GLOBAL float4*) (t + t_off + head);
        GLOBAL const float4* sv = (GLOBAL const float4*) (s + s_off + head);
        float4 a = tv[g], b = sv[g];
        a.x = ema1(m, om, a.x, b.x);
        a.y = ema1(m, om, a.y, b.y);
        a.z = ema1(m, om, a.z, b.z);
        a.w = ema1(m, om, a.w, b.w);
        tv[g] = a;
    }
    if (g < head + (n - edge)) {
        int i = g < head ? g : edge + (g - head);
        t[t_off + i] = ema1(m, om, t[t_off + i], s[s_off + i]);
    }
}

/*
 * Ring-buffer write: keys row r goes to queue row (ptr + r) mod capacity, for r < n (n <= capacity). One
 * work-item per float of keys: reads are fully contiguous, and writes are contiguous within each of the (at
 * most two) runs of rows, so a wrap costs nothing extra. A subtraction replaces the modulo since
 * ptr + r < 2 capacity.
 */
KERNEL void upd_enqueue(GLOBAL float* queue, int queue_off, int capacity, int c, GLOBAL const float* keys,
                        int keys_off, int n, int ptr) {
    int i = GLOBAL_ID(0);
    if (i >= n * c) return;
    int r = i / c, j = i - r * c;
    int row = ptr + r;
    if (row >= capacity) row -= capacity;
    queue[queue_off + row * c + j] = keys[keys_off + i];
}

/* One SGD step as in PyTorch (dampening 0, no Nesterov), fused into one pass over the three buffers:
   d = g + wd p; v = momentum v + d; p -= lr v. Each element is read once and written once. */
KERNEL void upd_sgd(float lr, float momentum, float wd, GLOBAL float* p, int p_off, GLOBAL const float* g,
                    int g_off, GLOBAL float* v, int v_off, int n) {
    int i = GLOBAL_ID(0);
    if (i < n) {
        float pi = p[p_off + i];
        float vi = momentum * v[v_off + i] + (g[g_off + i] + wd * pi);
        v[v_off + i] = vi;
        p[p_off + i] = pi - lr * vi;
    }
}
