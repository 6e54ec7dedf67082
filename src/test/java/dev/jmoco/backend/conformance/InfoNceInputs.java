package dev.jmoco.backend.conformance;

import java.util.Arrays;
import java.util.Random;
import java.util.function.DoubleSupplier;

/** Inputs of the InfoNCE tests (the conformance suite's and the kernel routes' own): seeded, shaped like MoCo's. */
public final class InfoNceInputs {
    private InfoNceInputs() {}

    /** Rows of random direction with lengths uniform in [minNorm, maxNorm]. */
    public static float[] rows(Random r, int n, int c, double minNorm, double maxNorm) {
        return rows(r, n, c, () -> minNorm + (maxNorm - minNorm) * r.nextDouble());
    }

    /** Rows of random direction (c Gaussians from {@code r}), each scaled to the next value of {@code length}. */
    public static float[] rows(Random r, int n, int c, DoubleSupplier length) {
        float[] x = new float[n * c];
        for (int i = 0; i < n; i++) {
            double norm = 0;
            for (int j = 0; j < c; j++) {
                x[i * c + j] = (float) r.nextGaussian();
                norm += x[i * c + j] * x[i * c + j];
            }
            double len = length.getAsDouble();
            for (int j = 0; j < c; j++) x[i * c + j] = (float) (x[i * c + j] * len / Math.sqrt(norm));
        }
        return x;
    }

    /**
     * Unit keys k_i = normalize(s_i q_i + u_i), s_i uniform in [0.3, 0.5]: q_i . k_i (about s / sqrt(1 + s^2))
     * then straddles the largest of 65536 chance-level dot products (about 4.2 / sqrt(c)), so ranks spread over
     * 0, 1-4 and beyond.
     */
    public static float[] correlatedKeys(Random r, float[] q, int n, int c) {
        float[] u = rows(r, n, c, 1, 1), k = new float[n * c];
        for (int i = 0; i < n; i++) {
            double s = 0.3 + 0.2 * r.nextDouble();
            for (int j = 0; j < c; j++) k[i * c + j] = (float) (s * q[i * c + j] + u[i * c + j]);
        }
        return rows(k, n, c);
    }

    /** x with each row scaled to unit length. */
    public static float[] rows(float[] x, int n, int c) {
        for (int i = 0; i < n; i++) {
            double norm = 0;
            for (int j = 0; j < c; j++) norm += x[i * c + j] * x[i * c + j];
            for (int j = 0; j < c; j++) x[i * c + j] = (float) (x[i * c + j] / Math.sqrt(norm));
        }
        return x;
    }

    /** Values in {-1, 0, 1}: dot products of such rows tie often (the rank rule's cases). */
    public static float[] ternary(Random r, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) x[i] = r.nextInt(3) - 1;
        return x;
    }

    /** NaNs, for outputs that must be written in full. */
    public static float[] nan(int size) {
        float[] v = new float[size];
        Arrays.fill(v, Float.NaN);
        return v;
    }

    /**
     * [acc@1, acc@5] of InfoNCE with one feature (c = 1), counted by hand with the rank rule of
     * {@code Backend.infoNce}: negatives whose dot is &gt;= the positive's count against it.
     */
    public static float[] accuraciesOneFeature(float[] q, float[] k, float[] queue, int n, int kq) {
        int top1 = 0, top5 = 0;
        for (int i = 0; i < n; i++) {
            int rank = 0;
            for (int j = 0; j < kq; j++) if (q[i] * queue[j] >= q[i] * k[i]) rank++;
            if (rank < 1) top1++;
            if (rank < 5) top5++;
        }
        return new float[] {(float) top1 / n, (float) top5 / n};
    }
}
