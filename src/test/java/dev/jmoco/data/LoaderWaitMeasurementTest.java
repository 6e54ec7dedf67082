package dev.jmoco.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Measures what a trainer sees: a consumer that works WORK_MS per batch of 256 Fashion-MNIST-sized images
 * with two v2 views, while the loader prepares the next batches. Prints the waits (the figure to report) and
 * checks that every batch is complete and correct in its indices. Also prints the augmentation cost per
 * image per view on one thread, the number that tells how many cores the loader needs.
 */
class LoaderWaitMeasurementTest {
    private static final int WORK_MS = 30, BATCH = 256, BATCHES = 12;

    @Test void consumerWaitWithBusyTrainer() {
        Dataset data = LoaderTest.synthetic(BATCH * BATCHES, 1, 28);
        try (Loader loader = Loader.builder(data).training(AugmentationRecipe.v2(28), 3).batchSize(BATCH).build()) {
            long afterFirst = 0, worst = 0;
            boolean[] seen = new boolean[data.size()];
            try (Loader.Epoch e = loader.epoch(0)) {
                while (e.hasNext()) {
                    try (Batch b = e.next()) {
                        assertEquals(BATCH, b.size());
                        for (int i = 0; i < b.size(); i++) seen[b.indices()[i]] = true;
                        if (b.index() > 0) { afterFirst += b.waitNanos(); worst = Math.max(worst, b.waitNanos()); }
                        busy(WORK_MS);
                    }
                }
            }
            for (boolean s : seen) assertTrue(s);
            Loader.WaitStats stats = loader.waitStats();
            assertEquals(BATCHES, stats.batches());
            System.out.printf("loader wait, %d threads, batch %d x 2 views v2 28x28, consumer busy %d ms/batch: "
                            + "first batch %.2f ms, later batches mean %.3f ms, worst %.3f ms, total %.2f ms%n",
                    Runtime.getRuntime().availableProcessors(), BATCH, WORK_MS,
                    (stats.totalNanos() - afterFirst) / 1e6, afterFirst / 1e6 / (BATCHES - 1), worst / 1e6, stats.totalMillis());
        }
    }

    @Test void augmentationCostPerImagePerView() {
        report("v2 1x28x28", AugmentationRecipe.v2(28), LoaderTest.synthetic(512, 1, 28));
        report("v2 3x32x32", AugmentationRecipe.v2(32), LoaderTest.synthetic(512, 3, 32));
        report("v1 3x32x32", AugmentationRecipe.v1(32), LoaderTest.synthetic(512, 3, 32));
    }

    private static void report(String what, AugmentationRecipe recipe, Dataset data) {
        Augmenter a = new Augmenter(recipe, data);
        float[] out = new float[a.outputSize()];
        double best = Double.MAX_VALUE;
        for (int round = 0; round < 20; round++) { // the first rounds warm up the JIT; keep the best
            long t0 = System.nanoTime();
            for (int i = 0; i < data.size(); i++) a.augment(data, i, SampleRandom.forView(1, round, i, 0), out, 0);
            best = Math.min(best, (System.nanoTime() - t0) / 1e3 / data.size());
        }
        System.out.printf("augment %s: %.2f us per image per view (1 thread)%n", what, best);
        assertTrue(best < 1000, what + " takes " + best + " us per view"); // a pathology guard, not a benchmark
    }

    private static void busy(int millis) {
        long end = System.nanoTime() + millis * 1_000_000L;
        double x = 0;
        while (System.nanoTime() < end) x += Math.sqrt(x + 1);
        if (x < 0) throw new AssertionError(); // keeps the loop from being removed
    }
}
