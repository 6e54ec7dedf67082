package dev.jmoco.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One finished epoch.
 *
 * @param epoch           its number, from 1
 * @param globalStep      steps run from the start of training to its end
 * @param meanLoss        the mean loss over its steps
 * @param meanAcc1        the mean acc@1 of the positive over its steps
 * @param meanAcc5        the mean acc@5
 * @param lr              the learning rate of its last step
 * @param imagesPerSecond images trained per second of its wall time, data loading included (kNN excluded)
 * @param knnAccuracy     kNN top-1 accuracy on the test split after it, or NaN when the monitor did not run
 * @param knnSeconds      the time the kNN monitor took after it (0 when it did not run; NaN when read back
 *                        from the metrics.csv of a checkpoint older than the epoch history)
 * @param seconds         its wall time, kNN included
 * @param wallSeconds     training wall time from the start of the run (over resumes) to its end
 * @param skippedImages   images that could not be decoded and were replaced in it ({@code --skip-bad-images};
 *                        a resumed epoch counts from the resume; 0 in checkpoints older than the field)
 */
public record EpochResult(int epoch, long globalStep, double meanLoss, double meanAcc1, double meanAcc5, double lr,
                          double imagesPerSecond, double knnAccuracy, double knnSeconds, double seconds,
                          double wallSeconds, long skippedImages) {

    /** The fields by name, NaN as is (the checkpoint's epoch history; JSON writes NaN as null). */
    Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("epoch", epoch);
        m.put("global_step", globalStep);
        m.put("loss", meanLoss);
        m.put("acc1", meanAcc1);
        m.put("acc5", meanAcc5);
        m.put("lr", lr);
        m.put("images_per_s", imagesPerSecond);
        m.put("knn_acc", knnAccuracy);
        m.put("knn_s", knnSeconds);
        m.put("seconds", seconds);
        m.put("wall_s", wallSeconds);
        m.put("skipped_images", skippedImages);
        return m;
    }

    /**
     * The epoch {@link #toMap} wrote, from parsed JSON (null for NaN).
     *
     * @throws IllegalArgumentException naming the missing or non-numeric field
     */
    static EpochResult fromMap(Map<?, ?> m) {
        return new EpochResult((int) whole(m, "epoch"), whole(m, "global_step"), number(m, "loss"),
                number(m, "acc1"), number(m, "acc5"), number(m, "lr"), number(m, "images_per_s"),
                number(m, "knn_acc"), number(m, "knn_s"), number(m, "seconds"), number(m, "wall_s"),
                m.containsKey("skipped_images") ? whole(m, "skipped_images") : 0);
    }

    private static double number(Map<?, ?> m, String key) {
        if (!m.containsKey(key)) throw new IllegalArgumentException("field " + key + " is missing");
        Object v = m.get(key);
        if (v == null) return Double.NaN;
        if (!(v instanceof Number n)) throw new IllegalArgumentException("field " + key + " = " + v + " is not a number");
        return n.doubleValue();
    }

    private static long whole(Map<?, ?> m, String key) {
        Object v = m.get(key);
        if (!(v instanceof Long n) || n < 0 || n > Integer.MAX_VALUE * 1024L)
            throw new IllegalArgumentException("field " + key + " = " + v + " is not a count");
        return n;
    }
}
