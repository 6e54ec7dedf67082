package dev.jmoco.moco;

import java.util.SplittableRandom;

/**
 * The random choices of a training step. Each is a pure function of (step, draw): the step number and which
 * draw of that step it is (symmetric MoCo shuffles twice). A resumed run that knows its step number therefore
 * repeats the choices of an uninterrupted one without saving generator state. Tests replace it to replay
 * choices made elsewhere (PyTorch fixtures).
 */
public interface StepRandom {

    /** A permutation of 0 .. n-1 (shuffle-BN's shuffle). */
    int[] permutation(long step, int draw, int n);

    /** {@code count} indices drawn uniformly from 0 .. bound-1 with replacement (memory-bank negatives). */
    int[] sample(long step, int draw, int count, int bound);

    /** Choices from a {@link SplittableRandom} seeded by a mix of seed, step and draw. */
    static StepRandom seeded(long seed) {
        return new StepRandom() {
            @Override
            public int[] permutation(long step, int draw, int n) {
                SplittableRandom r = generator(seed, step, draw);
                int[] p = new int[n];
                for (int i = 0; i < n; i++) p[i] = i;
                for (int i = n - 1; i > 0; i--) { // Fisher-Yates
                    int j = r.nextInt(i + 1);
                    int t = p[i]; p[i] = p[j]; p[j] = t;
                }
                return p;
            }

            @Override
            public int[] sample(long step, int draw, int count, int bound) {
                return generator(seed, step, draw).ints(count, 0, bound).toArray();
            }
        };
    }

    /** The inverse permutation: inverse[p[i]] = i (shuffle-BN's unshuffle, torch.argsort of p). */
    static int[] inverse(int[] p) {
        int[] inv = new int[p.length];
        for (int i = 0; i < p.length; i++) inv[p[i]] = i;
        return inv;
    }

    private static SplittableRandom generator(long seed, long step, int draw) {
        // Hash seed, step and draw in turn (nextLong is a 64-bit mix) so nearby pairs seed unrelated streams.
        return new SplittableRandom(mix(mix(mix(seed) + step) + draw));
    }

    private static long mix(long x) {
        return new SplittableRandom(x).nextLong();
    }
}
