package dev.jmoco.moco;

import java.util.Random;

/** Host-side initial values for dictionaries: Gaussian rows normalised to unit length, seeded. */
final class UnitRows {
    private UnitRows() {}

    /**
     * {@code rows} x {@code dim} values, each row drawn from N(0, 1) and divided by its L2 norm (the reference
     * queue: {@code normalize(torch.randn(dim, K), dim=0)}, one key per column there, per row here).
     */
    static float[] gaussian(int rows, int dim, long seed) {
        Random r = new Random(seed);
        float[] v = new float[Math.multiplyExact(rows, dim)];
        double[] row = new double[dim];
        for (int i = 0; i < rows; i++) {
            double sum = 0;
            for (int j = 0; j < dim; j++) { row[j] = r.nextGaussian(); sum += row[j] * row[j]; }
            double inv = 1 / Math.max(Math.sqrt(sum), 1e-12);
            for (int j = 0; j < dim; j++) v[i * dim + j] = (float) (row[j] * inv);
        }
        return v;
    }
}
