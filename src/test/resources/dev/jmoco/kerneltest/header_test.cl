#include "jmoco.h"

/*
 * Tests of the portability header (kernels/jmoco.h), run on the OpenCL device by PortabilityHeaderTest and
 * compiled with nvcc by the build's CUDA compile check: every macro, in both branches.
 */

#if defined(__CUDACC__)
/* The math names must resolve to float functions even for non-float arguments (CUDA's exp(int) is double). */
static_assert(sizeof(exp(1)) == sizeof(float), "exp must be expf");
static_assert(sizeof(log(1)) == sizeof(float), "log must be logf");
static_assert(sizeof(sqrt(1)) == sizeof(float), "sqrt must be sqrtf");
static_assert(sizeof(fmax(1, 2)) == sizeof(float), "fmax must be fmaxf");
static_assert(sizeof(fmin(1, 2)) == sizeof(float), "fmin must be fminf");
static_assert(sizeof(fabs(1)) == sizeof(float), "fabs must be fabsf");
#endif

/* Five ids per work-item of a 1-D launch: global, local, group id, local size, number of groups. */
KERNEL void hdr_ids_1d(GLOBAL float* RESTRICT out, int out_off, int n) {
    int i = GLOBAL_ID(0);
    if (i >= n) return;
    GLOBAL float* o = out + out_off + 5 * i;
    o[0] = (float) GLOBAL_ID(0);
    o[1] = (float) LOCAL_ID(0);
    o[2] = (float) GROUP_ID(0);
    o[3] = (float) LOCAL_SIZE(0);
    o[4] = (float) NUM_GROUPS(0);
}

/* Ten ids per work-item of a 2-D launch over a [h, w] grid (x = dimension 0 = column), row-major. */
KERNEL void hdr_ids_2d(GLOBAL float* out, int out_off, int w, int h) {
    int x = GLOBAL_ID(0), y = GLOBAL_ID(1);
    if (x >= w || y >= h) return;
    GLOBAL float* o = out + out_off + 10 * (y * w + x);
    o[0] = (float) GLOBAL_ID(0);
    o[1] = (float) GLOBAL_ID(1);
    o[2] = (float) LOCAL_ID(0);
    o[3] = (float) LOCAL_ID(1);
    o[4] = (float) GROUP_ID(0);
    o[5] = (float) GROUP_ID(1);
    o[6] = (float) LOCAL_SIZE(0);
    o[7] = (float) LOCAL_SIZE(1);
    o[8] = (float) NUM_GROUPS(0);
    o[9] = (float) NUM_GROUPS(1);
}

DEVICE_FN float hdr_square(float v) { return v * v; }

/* Per work-group sum of squares of x (64 work-items per group) through a LOCAL array and BARRIER: a tree
   reduction that reads wrong partial sums if the barrier does not order local memory. */
KERNEL void hdr_reduce(GLOBAL const float* RESTRICT x, int x_off, int n, GLOBAL float* RESTRICT sums, int sums_off) {
    LOCAL float part[64];
    int lid = LOCAL_ID(0), i = GLOBAL_ID(0);
    part[lid] = i < n ? hdr_square(x[x_off + i]) : 0.0f;
    BARRIER();
    for (int h = 32; h > 0; h /= 2) {
        if (lid < h) part[lid] += part[lid + h];
        BARRIER();
    }
    if (lid == 0) sums[sums_off + GROUP_ID(0)] = part[0];
}

/* The header's block_sum and block_max, each called twice on one scratch array (the second call must not race
   the first's readers): per work-item, out[4 g + 0..3] = sum(x), max(x), sum(2 x + 1), max(-x) over its
   work-group, items past n contributing 0 to the sums and nothing to the maxima. Every work-item writes its
   own results, so a reduction that gives the result to thread 0 only fails. */
KERNEL void hdr_block_reduce(GLOBAL const float* x, int x_off, int n, GLOBAL float* out, int out_off) {
    LOCAL float scratch[1024];
    int i = GLOBAL_ID(0);
    float v = i < n ? x[x_off + i] : 0.0f;
    float sum = block_sum(v, scratch);
    float mx = block_max(i < n ? v : -INFINITY, scratch);
    float sum2 = block_sum(i < n ? 2.0f * v + 1.0f : 0.0f, scratch);
    float mx2 = block_max(i < n ? -v : -INFINITY, scratch);
    GLOBAL float* o = out + out_off + 4 * i;
    o[0] = sum;
    o[1] = mx;
    o[2] = sum2;
    o[3] = mx2;
}

/* Six math results per element: exp, log, sqrt, fmax(x, 1), fmin(x, 1), fabs(-x). */
KERNEL void hdr_math(GLOBAL const float* x, int x_off, GLOBAL float* out, int out_off, int n) {
    int i = GLOBAL_ID(0);
    if (i >= n) return;
    float v = x[x_off + i];
    GLOBAL float* o = out + out_off + 6 * i;
    o[0] = exp(v);
    o[1] = log(v);
    o[2] = sqrt(v);
    o[3] = fmax(v, 1.0f);
    o[4] = fmin(v, 1.0f);
    o[5] = fabs(-v);
}

/* out[i] = src[idx[i]]: int buffers with their own offsets, as the index-taking ops use them. */
KERNEL void hdr_gather(GLOBAL const float* src, int src_off, GLOBAL const int* idx, int idx_off, GLOBAL float* out,
                       int out_off, int n) {
    int i = GLOBAL_ID(0);
    if (i < n) out[out_off + i] = src[src_off + idx[idx_off + i]];
}
