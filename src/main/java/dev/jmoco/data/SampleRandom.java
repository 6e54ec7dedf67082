package dev.jmoco.data;

import java.util.SplittableRandom;

/**
 * Derives every random stream of the data pipeline from a few integers, so results depend only on (seed,
 * epoch, sample, view) and never on which thread ran first. Each number is folded in with a 64-bit finaliser
 * (Stafford's mix13, as SplittableRandom uses), so neighbouring epochs or indices give unrelated streams.
 */
public final class SampleRandom {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    /** Distinguishes the epoch-order stream from any view stream. */
    private static final int ORDER_STREAM = -1;

    private SampleRandom() {}

    /** The generator of view {@code view} of sample {@code index} in {@code epoch}. */
    public static SplittableRandom forView(long seed, int epoch, int index, int view) {
        return new SplittableRandom(key(seed, epoch, index, view));
    }

    /** The order of epoch {@code epoch}: a Fisher-Yates permutation of 0..n-1 drawn from (seed, epoch). */
    public static int[] permutation(long seed, int epoch, int n) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        SplittableRandom rng = new SplittableRandom(key(seed, epoch, ORDER_STREAM, ORDER_STREAM));
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    static long key(long seed, int epoch, int index, int view) {
        long h = mix(seed + GOLDEN);
        h = mix(h ^ (epoch + GOLDEN * 2));
        h = mix(h ^ (index + GOLDEN * 3));
        return mix(h ^ (view + GOLDEN * 4));
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
