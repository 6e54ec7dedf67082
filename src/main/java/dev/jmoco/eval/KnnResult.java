package dev.jmoco.eval;

/**
 * The outcome of a kNN evaluation: the predicted class of every query and, per class, how many queries of
 * that class there were and how many were predicted correctly. Arrays are the caller's (no copies).
 */
public record KnnResult(int[] predictions, int[] perClassCorrect, int[] perClassTotal) {

    /** Number of queries. */
    public int total() { return predictions.length; }

    /** Number of correct predictions. */
    public int correct() {
        int c = 0;
        for (int x : perClassCorrect) c += x;
        return c;
    }

    /** Top-1 accuracy as a fraction of the queries. */
    public double accuracy() { return (double) correct() / total(); }

    /** Top-1 accuracy of each class; NaN for a class without queries. */
    public double[] perClassAccuracy() {
        double[] a = new double[perClassTotal.length];
        for (int c = 0; c < a.length; c++)
            a[c] = perClassTotal[c] == 0 ? Double.NaN : (double) perClassCorrect[c] / perClassTotal[c];
        return a;
    }
}
