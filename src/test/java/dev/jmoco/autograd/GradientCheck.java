package dev.jmoco.autograd;

import dev.jmoco.backend.Backend;
import dev.jmoco.testing.Tolerance;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/**
 * Checks an op's backward against central finite differences of its forward. The objective is
 * L = sum_i w_i y_i with fixed random weights w (L = y for a scalar output such as a loss), accumulated in
 * double from the float32 outputs; the derivative along element j uses the step actually taken after
 * rounding, (L(x + h) - L(x - h)) / (float(x + h) - float(x - h)). A failure names the op, the input, the
 * worst element and its threshold.
 */
final class GradientCheck {
    /** One input of the function under test; only differentiable ones require (and are checked for) gradients. */
    record Input(String name, float[] values, int[] shape, boolean differentiable) {}

    private final Backend backend;
    private final String op;
    private final Function<List<Tensor>, Tensor> f;
    private final List<Input> inputs = new ArrayList<>();
    private double h = 1e-2, abs = 1e-3, rel = 1e-3;
    private int samples = Integer.MAX_VALUE;

    private GradientCheck(Backend backend, String op, Function<List<Tensor>, Tensor> f) {
        this.backend = backend; this.op = op; this.f = f;
    }

    /** A check of {@code f}, which maps the input tensors (in order of {@link #input}) to the output. */
    static GradientCheck of(Backend backend, String op, Function<List<Tensor>, Tensor> f) {
        return new GradientCheck(backend, op, f);
    }

    GradientCheck input(String name, float[] values, int... shape) {
        inputs.add(new Input(name, values, shape, true));
        return this;
    }

    /** An input without gradient (a queue, running statistics). */
    GradientCheck constant(String name, float[] values, int... shape) {
        inputs.add(new Input(name, values, shape, false));
        return this;
    }

    /** Finite-difference step and tolerance |analytic - numeric| &lt;= abs + rel |numeric|. */
    GradientCheck step(double h, double abs, double rel) {
        this.h = h; this.abs = abs; this.rel = rel;
        return this;
    }

    /** Checks a seeded random sample of this many elements per input (all of them if fewer). */
    GradientCheck samples(int n) {
        this.samples = n;
        return this;
    }

    void run() {
        List<Tensor> leaves = new ArrayList<>();
        for (Input in : inputs)
            leaves.add(Tensor.fromArray(backend, in.values.clone(), in.shape).requiresGrad(in.differentiable));
        try {
            double[] w = analytic(leaves);
            for (int i = 0; i < inputs.size(); i++) {
                Input in = inputs.get(i);
                if (!in.differentiable) continue;
                float[] grad = leaves.get(i).gradToArray();
                if (grad == null) throw new AssertionError(op + ": no gradient reached input " + in.name);
                int[] picked = pick(in.values.length, i);
                double[] numeric = new double[picked.length];
                float[] analytic = new float[picked.length];
                for (int s = 0; s < picked.length; s++) {
                    numeric[s] = numeric(leaves, i, picked[s], w);
                    analytic[s] = grad[picked[s]];
                }
                Tolerance.assertClose(op + " d/d" + in.name, numeric, analytic, abs, rel);
            }
        } finally {
            leaves.forEach(Tensor::close);
        }
    }

    /** Runs forward and backward on a recording tape; returns the weights w of the objective. */
    private double[] analytic(List<Tensor> leaves) {
        try (Tape tape = Tape.record()) {
            Tensor y = f.apply(leaves);
            if (y.size() == 1) {
                tape.backward(y);
                return new double[] {1};
            }
            Random r = new Random(7);
            float[] w = new float[(int) y.size()];
            for (int i = 0; i < w.length; i++) w[i] = r.nextFloat() * 2 - 1;
            try (Tensor seed = Tensor.fromArray(backend, w, y.shape())) {
                tape.backwardWith(y, seed);
            }
            double[] wd = new double[w.length];
            for (int i = 0; i < w.length; i++) wd[i] = w[i];
            return wd;
        }
    }

    private double numeric(List<Tensor> leaves, int input, int element, double[] w) {
        float[] values = inputs.get(input).values.clone();
        float x = values[element];
        float xp = (float) (x + h), xm = (float) (x - h);
        values[element] = xp;
        double lp = objective(leaves, input, values, w);
        values[element] = xm;
        double lm = objective(leaves, input, values, w);
        values[element] = x;
        leaves.get(input).copyFrom(values);
        return (lp - lm) / ((double) xp - (double) xm);
    }

    @SuppressWarnings("try")
    private double objective(List<Tensor> leaves, int input, float[] values, double[] w) {
        leaves.get(input).copyFrom(values);
        try (Tape ignored = Tape.noGrad()) { // owns and frees the forward's tensors
            float[] y = f.apply(leaves).toArray();
            double sum = 0;
            for (int i = 0; i < y.length; i++) sum += w[i] * y[i];
            return sum;
        }
    }

    private int[] pick(int n, int input) {
        if (n <= samples) {
            int[] all = new int[n];
            for (int i = 0; i < n; i++) all[i] = i;
            return all;
        }
        // A partial Fisher-Yates shuffle: distinct indices, reproducible per input.
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        Random r = new Random(1000 + input);
        for (int i = 0; i < samples; i++) {
            int j = i + r.nextInt(n - i);
            int t = idx[i]; idx[i] = idx[j]; idx[j] = t;
        }
        return java.util.Arrays.copyOf(idx, samples);
    }

    // ---- input generators ---------------------------------------------------------------------------------

    /** Uniform values in [-scale, scale). */
    static float[] uniform(Random r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        return v;
    }

    /** Values with |v| in [gap, 1) and random sign: no element within {@code gap} of zero (relu's kink). */
    static float[] awayFromZero(Random r, int n, double gap) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) ((gap + r.nextDouble() * (1 - gap)) * (r.nextBoolean() ? 1 : -1));
        return v;
    }

    /** A random permutation of 0, spacing, 2 spacing, ... centred on zero: no two elements tie. */
    static float[] distinct(Random r, int n, double spacing) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) ((i - n / 2.0) * spacing);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            float t = v[i]; v[i] = v[j]; v[j] = t;
        }
        return v;
    }
}
