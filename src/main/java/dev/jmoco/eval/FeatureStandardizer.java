package dev.jmoco.eval;

/**
 * Per-dimension standardisation, (x - mean) / std, with the mean and the population standard deviation
 * (divisor rows, as sklearn's StandardScaler) of a training set, applied unchanged to the test set. A
 * dimension that is constant on the training set (std 0, e.g. the always-black border pixels of MNIST) is
 * centred but not scaled, so it stays 0 instead of becoming NaN.
 */
public record FeatureStandardizer(float[] mean, float[] std) {
    public FeatureStandardizer {
        if (mean.length != std.length)
            throw new IllegalArgumentException("standardizer: mean has " + mean.length + " entries, std " + std.length);
        mean = mean.clone();
        std = std.clone();
    }

    /** Mean and std of each column of {@code train}, computed in double. */
    public static FeatureStandardizer fit(FeatureSet train) {
        int n = train.rows(), d = train.dim();
        float[] x = train.features();
        double[] sum = new double[d], sq = new double[d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) sum[j] += x[i * d + j];
        for (int j = 0; j < d; j++) sum[j] /= n;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) {
                double c = x[i * d + j] - sum[j];
                sq[j] += c * c;
            }
        float[] mean = new float[d], std = new float[d];
        for (int j = 0; j < d; j++) {
            mean[j] = (float) sum[j];
            double s = Math.sqrt(sq[j] / n);
            std[j] = s > 0 ? (float) s : 1f;
        }
        return new FeatureStandardizer(mean, std);
    }

    @Override public float[] mean() { return mean.clone(); }
    @Override public float[] std() { return std.clone(); }

    /** A standardised copy of {@code set} (labels shared). */
    public FeatureSet apply(FeatureSet set) {
        int d = set.dim();
        if (d != mean.length)
            throw new IllegalArgumentException("standardizer: features have dim " + d + ", the standardizer "
                    + mean.length);
        float[] x = set.features(), y = new float[x.length];
        for (int i = 0; i < x.length; i++) y[i] = (x[i] - mean[i % d]) / std[i % d];
        return new FeatureSet(y, set.rows(), d, set.labels());
    }
}
