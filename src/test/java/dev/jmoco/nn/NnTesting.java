package dev.jmoco.nn;

import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.Backend;

import java.util.Random;

/** Helpers shared by the nn tests: random inputs and arena slices. */
final class NnTesting {
    private NnTesting() {}

    /** Uniform values in [-scale, scale). */
    static float[] uniform(Random r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        return v;
    }

    /** A random image batch [n, c, h, w] owned by the caller. */
    static Tensor images(Backend backend, Random r, int n, int c, int h, int w) {
        return Tensor.fromArray(backend, uniform(r, n * c * h * w, 1), n, c, h, w);
    }

    /** An initialised arena of {@code arch} (seed 1). */
    static ParameterArena arena(Backend backend, Architecture arch, boolean trainable) {
        ParameterArena a = arch.arenaLayout().build(backend, trainable);
        arch.initialize(a, 1);
        return a;
    }

    /** The gradient of entry {@code name} of a trainable arena. */
    static float[] grad(ParameterArena arena, String name) { return arena.tensor(name).gradToArray(); }
}
