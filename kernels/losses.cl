// The fused losses: MoCo's InfoNCE (forward + backward in one pass over the queue) and softmax cross-entropy.
//
// Both report stats = [mean loss, acc@1, acc@5] with one rank rule (as the CPU backend): a row's rank is the
// number of competing classes whose logit (for InfoNCE: raw dot product) is >= the target's, so ties count
// against the row; acc@1 counts rank 0, acc@5 rank < 5. Each loss kernel writes one (loss, rank) pair per
// row into a scratch array; losses_stats then reduces them on the device in a fixed order (no host round
// trip, no atomics, the same result on every run).
#include "jmoco.h"

// ---- shared: per-row (loss, rank) -> stats ---------------------------------------------------------------

// LOSSES_STATS_THREADS (256): threads of losses_stats (its only work-group); a power of two for the tree
// reduction. It and the other sizes this file shares with the host (XENT_MAX_THREADS, INFONCE_THREADS, _ROWS,
// _KEYS, _COLS, _MAX_CHUNKS, _COMBINE_THREADS, _ROWS_THREADS) come from KernelGeometry as -D options.

// rowStats holds the loss of row r at [r] and its rank at [rows + r]. One work-group of LOSSES_STATS_THREADS
// threads: each sums a strided share of the rows, then a tree reduction in local memory. Writes
// stats = [mean loss, acc@1, acc@5].
KERNEL void losses_stats(GLOBAL const float* rowStats, int rowStats_off, int rows,
                         GLOBAL float* stats, int stats_off) {
    LOCAL float loss[LOSSES_STATS_THREADS];
    LOCAL float top1[LOSSES_STATS_THREADS];
    LOCAL float top5[LOSSES_STATS_THREADS];
    int lid = LOCAL_ID(0);
    float l = 0.0f, t1 = 0.0f, t5 = 0.0f;
    for (int r = lid; r < rows; r += LOSSES_STATS_THREADS) {
        float rank = rowStats[rowStats_off + rows + r];
        l += rowStats[rowStats_off + r];
        t1 += rank < 1.0f ? 1.0f : 0.0f;
        t5 += rank < 5.0f ? 1.0f : 0.0f;
    }
    loss[lid] = l; top1[lid] = t1; top5[lid] = t5;
    BARRIER();
    for (int width = LOSSES_STATS_THREADS / 2; width > 0; width /= 2) {
        if (lid < width) {
            loss[lid] += loss[lid + width];
            top1[lid] += top1[lid + width];
            top5[lid] += top5[lid + width];
        }
        BARRIER();
    }
    if (lid == 0) {
        stats[stats_off] = loss[0] / rows;
        stats[stats_off + 1] = top1[0] / rows;
        stats[stats_off + 2] = top5[0] / rows;
    }
}

// ---- softmax cross-entropy ---------------------------------------------------------------------------------

// XENT_MAX_THREADS (256, -D): largest work-group of softmax_xent_rows (the host passes a power of two up to
// this, matched to cols).

// One work-group per row; its threads stride over the columns (coalesced) and meet in local-memory tree
// reductions. Three sweeps over the row: (1) max and rank, (2) sum of exp(x - max), (3) the gradient
// scale * (softmax - onehot). Subtracting the max keeps exp in range for any logits. dlogits may alias
// logits: every thread reads the target logit in sweep 1, and sweep 3 (after two barriers) only overwrites
// each element after the same thread has read it.
KERNEL void softmax_xent_rows(GLOBAL const float* logits, int logits_off, GLOBAL const int* labels, int labels_off,
                              int cols, float scale, GLOBAL float* dlogits, int dlogits_off,
                              GLOBAL float* rowStats, int rowStats_off, int rows) {
    LOCAL float red[XENT_MAX_THREADS];
    LOCAL float cnt[XENT_MAX_THREADS];
    int row = GROUP_ID(0), lid = LOCAL_ID(0), threads = LOCAL_SIZE(0);
    // row is uniform across the group, so this early exit cannot split a barrier.
    if (row >= rows) return;
    int base = logits_off + row * cols, dbase = dlogits_off + row * cols;
    int label = labels[labels_off + row];
    float target = logits[base + label];

    float mx = -INFINITY, atLeast = 0.0f;
    for (int j = lid; j < cols; j += threads) {
        float v = logits[base + j];
        mx = fmax(mx, v);
        atLeast += v >= target ? 1.0f : 0.0f;
    }
    red[lid] = mx; cnt[lid] = atLeast;
    BARRIER();
    for (int width = threads / 2; width > 0; width /= 2) {
        if (lid < width) {
            red[lid] = fmax(red[lid], red[lid + width]);
            cnt[lid] += cnt[lid + width];
        }
        BARRIER();
    }
    mx = red[0];
    float rank = cnt[0] - 1.0f; // the target counted itself
    BARRIER(); // everyone has read red[0] before it is reused

    float sum = 0.0f;
    for (int j = lid; j < cols; j += threads) sum += exp(logits[base + j] - mx);
    red[lid] = sum;
    BARRIER();
    for (int width = threads / 2; width > 0; width /= 2) {
        if (lid < width) red[lid] += red[lid + width];
        BARRIER();
    }
    sum = red[0];

    float f = scale / sum;
    for (int j = lid; j < cols; j += threads) {
        float p = exp(logits[base + j] - mx) * f;
        dlogits[dbase + j] = j == label ? p - scale : p;
    }
    if (lid == 0) {
        rowStats[rowStats_off + row] = log(sum) + mx - target;
        rowStats[rowStats_off + rows + row] = rank;
    }
}

// ---- InfoNCE ---------------------------------------------------------------------------------------------
//
// logits_i = [q_i . k_i, q_i . queue_j (j < K)] / t with the positive at index 0; loss = mean cross-entropy.
// With p_ij the softmax of row i, the gradients are
//     dq_i = g (sum_j p_ij queue_j + (p_i0 - 1) k_i),   dk_i = g (p_i0 - 1) q_i,   g = gradScale / (n t).
// The n x (K + 1) logits matrix is never stored (at MoCo's K = 65536 it would be 64 MB per step). Instead,
// as in flash attention, each row keeps an online softmax while the queue streams by:
//     m   the running max logit,
//     s   the running sum over the negatives seen so far of exp(logit - m),
//     acc the running sum of exp(logit - m) queue_j (a c-vector),
// and whenever a new block raises the max from m to m', both s and acc are multiplied by exp(m - m') so they
// stay relative to the current max (this is what keeps t = 0.07 with large logits finite). At the end, with
// e0 = exp(pos/t - m) for the positive,
//     loss_i = log(e0 + s) - (pos/t - m),   p_i0 - 1 = -s / (e0 + s),
//     dq_i   = g (acc - s k_i) / (e0 + s),  dk_i = -g s / (e0 + s) q_i.
// Keeping the positive apart from the negatives computes p_i0 - 1 without the cancellation of 1 - p.
//
// The work is split twice (split-K, after flash-decoding): infonce_partial gives each work-group a block of
// rows and one chunk of the queue and writes that block's partial state (m, s, rank, acc); infonce_combine
// merges the chunks of one row (rescaling each to the common max) and writes dq, dk and the row's loss and
// rank; losses_stats reduces those into stats.

// infonce_partial's work-group: INFONCE_THREADS = 32 x 8 threads (tx, ty; 256, -D). On NVIDIA a warp is one ty,
// so the values of a row that all its threads need (queries, weights) are broadcast reads, and the tx-indexed
// ones are consecutive addresses (no bank conflicts).
#define INFONCE_TX 32
// INFONCE_ROWS (32, -D): rows of q per work-group: 4 per thread (ty 4 + a).
// INFONCE_KEYS (128, -D): queue keys per tile: the tile's 32 x 128 logits are 16 per thread (4 rows x keys
// tx + 32 b).
// INFONCE_COLS (128, -D): columns of the accumulator per work-group, held in registers: 16 per thread (4 rows x
// columns tx + 32 b). Wider rows are cut into panels of 128 columns, each a work-group of its own that
// recomputes the logits (only panel 0 writes the softmax state); MoCo's c = 128 is one panel.
// Feature columns per staged slice of q and of a tile's keys for the logits (any c streams through local
// memory slice by slice; the +1 paddings keep column reads free of bank conflicts).
#define INFONCE_SLICE 16
// Keys per staged block of the accumulator update.
#define INFONCE_SUB 16
// INFONCE_MAX_CHUNKS (256, -D): chunks of the queue per row, at most (infonce_combine stages one weight per
// chunk in local memory). INFONCE_COMBINE_THREADS (128, -D): threads of infonce_combine (one work-group per
// row of q, striding over its c columns).

// Element (row, col) of a row-major matrix with row stride c, or 0 past `limit` rows or c columns: tiles are
// zero-padded so that the products below need no bounds checks.
DEVICE_FN float infonce_at(GLOBAL const float* src, int src_off, int row, int limit, int col, int c) {
    return row < limit && col < c ? src[src_off + row * c + col] : 0.0f;
}

// Grid: dimension 0 = row block x column panel (panel fastest), dimension 1 = chunk of the queue.
// Writes, for each valid row r of the block: part[(chunk n + r) 3 + {0, 1, 2}] = (m, s, rank) and
// acc[(chunk n + r) c + col] for the panel's columns; chunk 0 of panel 0 also writes pos[r] = q_r . k_r.
//
// Per tile of 128 keys, every thread does 2 x 4 x 4 multiply-adds per 8 local reads, in both products
// (register tiles of 4 x 4); local memory: about 27 KB.
KERNEL void infonce_partial(GLOBAL const float* q, int q_off, GLOBAL const float* k, int k_off,
                            GLOBAL const float* queue, int queue_off, int n, int c, int kq, float invT,
                            int panels, int keysPerChunk,
                            GLOBAL float* part, int part_off, GLOBAL float* acc, int acc_off,
                            GLOBAL float* pos, int pos_off) {
    LOCAL float qs[INFONCE_ROWS * (INFONCE_SLICE + 1)];  // a slice of the block's queries: qs[row][col]
    // Keys, in two layouts: a slice of the tile transposed, kt[col][key] (SLICE x KEYS+1), for the logits,
    // and a block of whole key rows ks[key][col] (SUB x COLS) for the accumulator update.
    LOCAL float keys[INFONCE_SLICE * (INFONCE_KEYS + 1)];
    LOCAL float p[INFONCE_ROWS * (INFONCE_KEYS + 1)];    // the tile's dots, then weights exp(logit - m)
    LOCAL float posL[INFONCE_ROWS], mL[INFONCE_ROWS], sL[INFONCE_ROWS], rankL[INFONCE_ROWS];
    LOCAL float alphaL[INFONCE_ROWS];

    int tid = LOCAL_ID(0), tx = tid % INFONCE_TX, ty = tid / INFONCE_TX;
    int panel = GROUP_ID(0) % panels, row0 = (GROUP_ID(0) / panels) * INFONCE_ROWS;
    int chunk = GROUP_ID(1);
    int rows = n - row0 < INFONCE_ROWS ? n - row0 : INFONCE_ROWS;
    int col0 = panel * INFONCE_COLS;
    int key0 = chunk * keysPerChunk;
    int keyEnd = kq - key0 < keysPerChunk ? kq : key0 + keysPerChunk;

    // The positive logit seeds the running max, so m is finite from the start and exp(pos/t - m) <= 1.
    if (tid < rows) {
        GLOBAL const float* qi = q + q_off + (row0 + tid) * c;
        GLOBAL const float* ki = k + k_off + (row0 + tid) * c;
        float dot = 0.0f;
        for (int cc = 0; cc < c; cc++) dot += qi[cc] * ki[cc];
        posL[tid] = dot;
        mL[tid] = dot * invT;
        sL[tid] = 0.0f;
        rankL[tid] = 0.0f;
        if (chunk == 0 && panel == 0) pos[pos_off + row0 + tid] = dot;
    }
    float accR[4][4]; // acc[ty 4 + a][col0 + tx + 32 b]
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) accR[a][b] = 0.0f;

    for (int t0 = key0; t0 < keyEnd; t0 += INFONCE_KEYS) {
        int nb = keyEnd - t0 < INFONCE_KEYS ? keyEnd - t0 : INFONCE_KEYS;

        // (1) Raw dot products of the 32 x 128 tile in registers, slice by slice of the features.
        float dot[4][4];
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) dot[a][b] = 0.0f;
        for (int c0 = 0; c0 < c; c0 += INFONCE_SLICE) {
            BARRIER(); // the previous slice (or the previous tile's update) is consumed
            for (int e = tid; e < INFONCE_ROWS * INFONCE_SLICE; e += INFONCE_THREADS)
                qs[(e / INFONCE_SLICE) * (INFONCE_SLICE + 1) + e % INFONCE_SLICE] =
                        infonce_at(q, q_off, row0 + e / INFONCE_SLICE, row0 + rows, c0 + e % INFONCE_SLICE, c);
            for (int e = tid; e < INFONCE_KEYS * INFONCE_SLICE; e += INFONCE_THREADS)
                keys[(e % INFONCE_SLICE) * (INFONCE_KEYS + 1) + e / INFONCE_SLICE] =
                        infonce_at(queue, queue_off, t0 + e / INFONCE_SLICE, keyEnd, c0 + e % INFONCE_SLICE, c);
            BARRIER();
            for (int cc = 0; cc < INFONCE_SLICE; cc++) {
                float qa[4], kb[4];
                for (int a = 0; a < 4; a++) qa[a] = qs[(ty * 4 + a) * (INFONCE_SLICE + 1) + cc];
                for (int b = 0; b < 4; b++) kb[b] = keys[cc * (INFONCE_KEYS + 1) + tx + 32 * b];
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++) dot[a][b] += qa[a] * kb[b];
            }
        }
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) p[(ty * 4 + a) * (INFONCE_KEYS + 1) + tx + 32 * b] = dot[a][b];
        BARRIER();

        // (2) One thread per row: the tile's max (over valid keys) raises the running max; alpha rescales
        // what was accumulated against the old max. The rank compares raw dots, exactly as the CPU does.
        if (tid < rows) {
            float pd = posL[tid], tileMax = -INFINITY, atLeast = 0.0f;
            for (int j = 0; j < nb; j++) {
                float d = p[tid * (INFONCE_KEYS + 1) + j];
                tileMax = fmax(tileMax, d);
                atLeast += d >= pd ? 1.0f : 0.0f;
            }
            float m = mL[tid], mNew = fmax(m, tileMax * invT);
            alphaL[tid] = exp(m - mNew);
            mL[tid] = mNew;
            rankL[tid] += atLeast;
        }
        BARRIER();

        // (3) Every thread turns its own 16 dots into weights exp(dot/t - m) (padding gets 0) and rescales
        // its accumulators to the new max.
        for (int a = 0; a < 4; a++) {
            int r = ty * 4 + a;
            float m = r < rows ? mL[r] : 0.0f, alpha = r < rows ? alphaL[r] : 0.0f;
            for (int b = 0; b < 4; b++) {
                int j = tx + 32 * b;
                p[r * (INFONCE_KEYS + 1) + j] = r < rows && j < nb ? exp(dot[a][b] * invT - m) : 0.0f;
                accR[a][b] *= alpha;
            }
        }
        BARRIER();

        // (4) One thread per row folds the tile's weights into the running sum.
        if (tid < rows) {
            float sum = 0.0f;
            for (int j = 0; j < nb; j++) sum += p[tid * (INFONCE_KEYS + 1) + j];
            sL[tid] = sL[tid] * alphaL[tid] + sum;
        }

        // (5) acc[r][col] += sum_j p[r][j] key_j[col] over the panel's columns, in blocks of 16 whole key
        // rows (read again from global memory: they were just loaded, so this hits the cache).
        for (int j0 = 0; j0 < nb; j0 += INFONCE_SUB) {
            BARRIER(); // keys is free (and, in the first block, p is complete)
            for (int e = tid; e < INFONCE_SUB * INFONCE_COLS; e += INFONCE_THREADS)
                keys[e] = infonce_at(queue, queue_off, t0 + j0 + e / INFONCE_COLS, keyEnd,
                                     col0 + e % INFONCE_COLS, c);
            BARRIER();
            for (int j = 0; j < INFONCE_SUB; j++) {
                float pa[4], kv[4];
                for (int a = 0; a < 4; a++) pa[a] = p[(ty * 4 + a) * (INFONCE_KEYS + 1) + j0 + j];
                for (int b = 0; b < 4; b++) kv[b] = keys[j * INFONCE_COLS + tx + 32 * b];
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++) accR[a][b] += pa[a] * kv[b];
            }
        }
    }
    BARRIER();

    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) {
            int r = ty * 4 + a, col = col0 + tx + 32 * b;
            if (r < rows && col < c) acc[acc_off + (chunk * n + row0 + r) * c + col] = accR[a][b];
        }
    if (tid < rows && panel == 0) {
        int o = part_off + (chunk * n + row0 + tid) * 3;
        part[o] = mL[tid];
        part[o + 1] = sL[tid];
        part[o + 2] = rankL[tid];
    }
}

// One work-group per row i of q: merges the row's `chunks` partial states. With M the largest chunk max
// (and pos/t), each chunk's s and acc are rescaled by w_g = exp(m_g - M) before they are summed (the same
// rescaling as inside a chunk, applied once per chunk). Writes dq (and dk when hasDk), and the row's loss
// and rank into rowStats (loss at [i], rank at [n + i]). g = gradScale / (n t).
KERNEL void infonce_combine(GLOBAL const float* q, int q_off, GLOBAL const float* k, int k_off, int n, int c,
                            float invT, float g, int chunks,
                            GLOBAL const float* part, int part_off, GLOBAL const float* acc, int acc_off,
                            GLOBAL const float* pos, int pos_off,
                            GLOBAL float* dq, int dq_off, int hasDk, GLOBAL float* dk, int dk_off,
                            GLOBAL float* rowStats, int rowStats_off) {
    LOCAL float w[INFONCE_MAX_CHUNKS];
    LOCAL float total[2]; // s and rank over all chunks
    int i = GROUP_ID(0), lid = LOCAL_ID(0);
    if (i >= n) return; // uniform across the group
    float posLogit = pos[pos_off + i] * invT;

    // Every thread finds M itself (chunks <= 256 cached reads), then the weights are computed in parallel.
    float mx = posLogit;
    for (int ch = 0; ch < chunks; ch++) mx = fmax(mx, part[part_off + (ch * n + i) * 3]);
    for (int ch = lid; ch < chunks; ch += INFONCE_COMBINE_THREADS)
        w[ch] = exp(part[part_off + (ch * n + i) * 3] - mx);
    BARRIER();
    if (lid == 0) {
        float s = 0.0f, rank = 0.0f;
        for (int ch = 0; ch < chunks; ch++) {
            s += part[part_off + (ch * n + i) * 3 + 1] * w[ch];
            rank += part[part_off + (ch * n + i) * 3 + 2];
        }
        total[0] = s;
        total[1] = rank;
    }
    BARRIER();

    float s = total[0], e0 = exp(posLogit - mx), l = e0 + s;
    float ga = g / l, gk = -g * s / l; // gk = g (p_i0 - 1)
    for (int col = lid; col < c; col += INFONCE_COMBINE_THREADS) {
        float a = 0.0f;
        for (int ch = 0; ch < chunks; ch++) a += acc[acc_off + (ch * n + i) * c + col] * w[ch];
        dq[dq_off + i * c + col] = ga * a + gk * k[k_off + i * c + col];
        if (hasDk) dk[dk_off + i * c + col] = gk * q[q_off + i * c + col];
    }
    if (lid == 0) {
        rowStats[rowStats_off + i] = log(l) - (posLogit - mx);
        rowStats[rowStats_off + n + i] = total[1];
    }
}

// ---- InfoNCE by rows: GEMM, one row kernel, GEMM -----------------------------------------------------------
//
// The second route (host class InfoNceRows), for devices where a vendor GEMM is much faster than the fused
// kernels above: it stores the n x K logits once, in a scratch matrix that the row kernel then turns into
// the gradient with respect to the raw dots, in place:
//   (1) GEMM   neg[n, K] = q . queue^T               (raw dot products)
//   (2) infonce_rows: per row i, the loss and rank, dq_i = g (p_i0 - 1) k_i, dk_i = g (p_i0 - 1) q_i, and
//       neg_ij <- g p_ij (p_ij the softmax probability of negative j, g = gradScale / (n t): the logit is
//       dot / t, so d(loss)/d(dot) = p / (n t))
//   (3) GEMM   dq += neg . queue                      (the negatives' part of dq)
// then losses_stats. The kernel reads the row twice (max and sum, then the gradient) and writes it once.

// INFONCE_ROWS_THREADS (-D): work-items of infonce_rows (a power of two for block_sum/block_max). 1024, the most
// a CUDA block holds: MoCo's 256 rows then fill an H100's 132 SMs (2 blocks of 1024 each) in one wave, with
// twice the loads in flight of 512-thread groups, for a kernel that only streams memory.

// One step of the online softmax over a raw dot d: (m, s) is the running max of the logits d/t and the
// running sum of exp(logit - m) (rescaled when m grows); cnt counts the dots >= the positive's (the rank).
DEVICE_FN void infonce_rows_step(float d, float pos, float invT, float* m, float* s, float* cnt) {
    float x = d * invT;
    if (x > *m) {
        *s *= exp(*m - x);
        *m = x;
    }
    *s += exp(x - *m);
    *cnt += d >= pos ? 1.0f : 0.0f;
}

// One work-group of INFONCE_ROWS_THREADS per row i of q (grid: n groups). neg is [n, kq] (row i at
// neg_off + i kq), read and then overwritten. The positive is kept apart from the negatives (as in the
// fused route) so that p_i0 - 1 = -S / (e0 + S) has no cancellation; each work-item's (m, s) starts from
// the positive's logit, so m is finite from the start and a work-item without elements (kq < group size)
// adds nothing. Rows whose start is 16-byte aligned are read as float4 (the host's neg is a root scratch
// buffer at offset 0, whose base is aligned: every row when kq is a multiple of 4), plus a scalar tail;
// other rows element by element. Each work-item writes exactly the elements it read, so in place is safe.
// Writes dq_i, dk_i (when hasDk) and the row's loss at rowStats[i], its rank at rowStats[n + i].
KERNEL void infonce_rows(GLOBAL const float* q, int q_off, GLOBAL const float* k, int k_off, int n, int c, int kq,
                         float invT, float g, GLOBAL float* neg, int neg_off,
                         GLOBAL float* dq, int dq_off, int hasDk, GLOBAL float* dk, int dk_off,
                         GLOBAL float* rowStats, int rowStats_off) {
    LOCAL float red[INFONCE_ROWS_THREADS];
    int i = GROUP_ID(0), lid = LOCAL_ID(0), threads = LOCAL_SIZE(0);
    if (i >= n) return; // uniform across the group
    int qi = q_off + i * c, ki = k_off + i * c, base = neg_off + i * kq;

    float dot = 0.0f;
    for (int cc = lid; cc < c; cc += threads) dot += q[qi + cc] * k[ki + cc];
    float pos = block_sum(dot, red), posLogit = pos * invT;

    // float4 number v holds elements 4v .. 4v + 3 of the row; the scalar loop covers the rest (all of an
    // unaligned row).
    int vecs = (base & 3) == 0 ? kq >> 2 : 0, tail = vecs << 2;
    GLOBAL float4* row4 = (GLOBAL float4*) (neg + base);

    // Pass 1: max, sum of exponentials, rank.
    float m = posLogit, s = 0.0f, cnt = 0.0f;
    for (int v = lid; v < vecs; v += threads) {
        float4 d = row4[v];
        infonce_rows_step(d.x, pos, invT, &m, &s, &cnt);
        infonce_rows_step(d.y, pos, invT, &m, &s, &cnt);
        infonce_rows_step(d.z, pos, invT, &m, &s, &cnt);
        infonce_rows_step(d.w, pos, invT, &m, &s, &cnt);
    }
    for (int j = tail + lid; j < kq; j += threads) infonce_rows_step(neg[base + j], pos, invT, &m, &s, &cnt);
    float mx = block_max(m, red);
    float sum = block_sum(s * exp(m - mx), red);
    float rank = block_sum(cnt, red);

    // Pass 2: neg_ij <- g p_ij = exp(logit_ij - mx) g / (e0 + sum).
    float e0 = exp(posLogit - mx), l = e0 + sum;
    float f = g / l, gk = -g * sum / l; // gk = g (p_i0 - 1)
    for (int v = lid; v < vecs; v += threads) {
        float4 d = row4[v];
        d.x = exp(d.x * invT - mx) * f;
        d.y = exp(d.y * invT - mx) * f;
        d.z = exp(d.z * invT - mx) * f;
        d.w = exp(d.w * invT - mx) * f;
        row4[v] = d;
    }
    for (int j = tail + lid; j < kq; j += threads) neg[base + j] = exp(neg[base + j] * invT - mx) * f;

    for (int cc = lid; cc < c; cc += threads) {
        dq[dq_off + i * c + cc] = gk * k[ki + cc];
        if (hasDk) dk[dk_off + i * c + cc] = gk * q[qi + cc];
    }
    if (lid == 0) {
        rowStats[rowStats_off + i] = log(l) - (posLogit - mx);
        rowStats[rowStats_off + n + i] = rank;
    }
}
