package dev.jmoco.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The background loader: coverage of each epoch, exact contents, determinism, resume, recycling, errors. */
class LoaderTest {
    static Dataset synthetic(int n, int c, int side) {
        byte[] pixels = new byte[n * c * side * side];
        new SplittableRandom(42).nextBytes(pixels);
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) labels[i] = (i * 7) % 10;
        return new Dataset("synthetic", pixels, labels, c, side, side, 10, Normalization.FASHION_MNIST.forChannels(c));
    }

    /** A copy of what a batch holds, comparable after its buffers are recycled. */
    record Snapshot(int epoch, int index, int[] indices, int[] labels, float[][] views) {
        static Snapshot of(Batch b) {
            float[][] v = new float[b.viewCount()][];
            int len = b.size() * b.view(0).length / b.labels().length;
            for (int i = 0; i < v.length; i++) v[i] = Arrays.copyOf(b.view(i), len);
            return new Snapshot(b.epoch(), b.index(), Arrays.copyOf(b.indices(), b.size()),
                    Arrays.copyOf(b.labels(), b.size()), v);
        }

        void assertSame(Snapshot o) {
            assertEquals(epoch, o.epoch);
            assertEquals(index, o.index);
            assertArrayEquals(indices, o.indices, "indices of batch " + index);
            assertArrayEquals(labels, o.labels);
            for (int v = 0; v < views.length; v++) assertArrayEquals(views[v], o.views[v], "view " + v + " of batch " + index);
        }
    }

    static List<Snapshot> run(Loader loader, int epoch, int firstBatch) {
        List<Snapshot> out = new ArrayList<>();
        try (Loader.Epoch e = loader.epoch(epoch, firstBatch)) {
            while (e.hasNext()) {
                try (Batch b = e.next()) { out.add(Snapshot.of(b)); }
            }
        }
        return out;
    }

    @Test void trainingEpochVisitsEveryIndexOnceAndDropsTheShortBatch() {
        Dataset data = synthetic(1000, 1, 12);
        try (Loader loader = Loader.builder(data).training(AugmentationRecipe.v2(12), 5).batchSize(64).threads(2).build()) {
            assertEquals(15, loader.batchesPerEpoch());
            for (int epoch = 0; epoch < 2; epoch++) {
                List<Snapshot> batches = run(loader, epoch, 0);
                assertEquals(15, batches.size());
                int[] seen = new int[1000];
                for (Snapshot s : batches) {
                    assertEquals(64, s.indices.length);
                    for (int i = 0; i < 64; i++) {
                        seen[s.indices[i]]++;
                        assertEquals(data.label(s.indices[i]), s.labels[i]);
                    }
                }
                int once = 0;
                for (int v : seen) { assertTrue(v <= 1); once += v; }
                assertEquals(960, once);
            }
            assertFalse(Arrays.equals(run(loader, 0, 0).getFirst().indices, run(loader, 1, 0).getFirst().indices),
                    "each epoch has its own order");
        }
    }

    @Test void evaluationKeepsTheLastBatchInOrder() {
        Dataset data = synthetic(100, 3, 8);
        try (Loader loader = Loader.builder(data).batchSize(32).threads(3).build()) {
            List<Snapshot> batches = run(loader, 0, 0);
            assertEquals(4, batches.size());
            assertEquals(4, batches.get(3).indices.length);
            int next = 0;
            for (Snapshot s : batches) for (int idx : s.indices) assertEquals(next++, idx);
            assertEquals(1, batches.getFirst().views.length);
        }
    }

    @Test void viewsAreTheAugmentationsOfTheirSamples() throws DatasetFormatException {
        Dataset data = synthetic(50, 3, 10);
        AugmentationRecipe recipe = AugmentationRecipe.v2(8);
        try (Loader loader = Loader.builder(data).training(recipe, 99).batchSize(16).threads(2).build()) {
            assertEquals(3 * 8 * 8, loader.sampleLength());
            Augmenter reference = new Augmenter(recipe, data);
            float[] expected = new float[reference.outputSize()];
            for (Snapshot s : run(loader, 3, 0))
                for (int i = 0; i < s.indices.length; i++)
                    for (int v = 0; v < 2; v++) {
                        reference.augment(data, s.indices[i], SampleRandom.forView(99, 3, s.indices[i], v), expected, 0);
                        assertArrayEquals(expected, Arrays.copyOfRange(s.views[v], i * expected.length, (i + 1) * expected.length));
                    }
        }
    }

    @Test void sameBatchesForAnyThreadCountAndAfterResume() {
        Dataset data = synthetic(300, 1, 10);
        List<List<Snapshot>> straight = new ArrayList<>();
        try (Loader one = Loader.builder(data).training(AugmentationRecipe.v1(10), 7).batchSize(32).threads(1).depth(1).build()) {
            for (int e = 0; e < 3; e++) straight.add(run(one, e, 0));
        }
        // a fresh loader (a resumed run) with other threads and depth, starting at epoch 2 and in its middle
        try (Loader other = Loader.builder(data).training(AugmentationRecipe.v1(10), 7).batchSize(32).threads(3).depth(4).build()) {
            List<Snapshot> resumed = run(other, 2, 0);
            assertEquals(straight.get(2).size(), resumed.size());
            for (int i = 0; i < resumed.size(); i++) straight.get(2).get(i).assertSame(resumed.get(i));
            List<Snapshot> middle = run(other, 1, 5);
            assertEquals(straight.get(1).size() - 5, middle.size());
            for (int i = 0; i < middle.size(); i++) straight.get(1).get(i + 5).assertSame(middle.get(i));
        }
    }

    @Test void buffersAreRecycled() {
        try (Loader loader = Loader.builder(synthetic(200, 1, 8)).training(AugmentationRecipe.v2(8), 1)
                .batchSize(10).threads(2).depth(3).build()) {
            for (int e = 0; e < 3; e++) run(loader, e, 0);
            assertTrue(loader.buffersAllocated() <= 4, "allocated " + loader.buffersAllocated() + " buffers for depth 3");
            // an epoch abandoned in its middle returns its in-flight buffers too
            try (Loader.Epoch e = loader.epoch(0)) { e.next().close(); }
            run(loader, 1, 0);
            assertTrue(loader.buffersAllocated() <= 4);
            assertEquals(3 * 20 + 1 + 20, loader.waitStats().batches());
        }
    }

    @Test void workerFailureSurfacesWithItsCause() {
        Dataset data = synthetic(100, 1, 8);
        try (Loader loader = Loader.builder(data).batchSize(10).threads(2).sampleCheck(i -> {
            if (i == 57) throw new IllegalStateException("bad sample 57");
        }).build()) {
            Loader.Epoch e = loader.epoch(0);
            for (int i = 0; i < 5; i++) e.next().close();
            var error = assertThrows(BatchPreparationException.class, e::next);
            assertInstanceOf(IllegalStateException.class, error.getCause());
            assertTrue(error.getMessage().contains("batch 5 of epoch 0") && error.getMessage().contains("bad sample 57"),
                    error.getMessage());
            assertFalse(e.hasNext(), "a failed epoch ends");
        }
    }

    /** This loader's threads only: other tests' loaders may still be shutting down in the same JVM. */
    @Test void closeStopsTheThreads() throws InterruptedException {
        Loader loader = Loader.builder(synthetic(64, 1, 8)).threads(3).batchSize(8).build();
        run(loader, 0, 0);
        List<Thread> own = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith(loader.threadPrefix())).toList();
        assertEquals(3, own.size(), "the pool has started its 3 threads: " + own);
        loader.close();
        for (Thread t : own) {
            t.join(10_000); // close() waits for the pool to terminate; a worker may still be exiting after that
            assertFalse(t.isAlive(), t.getName() + " still runs after close");
        }
        assertThrows(IllegalStateException.class, () -> loader.epoch(1));
    }

    @Test void invalidSettings() {
        Dataset data = synthetic(10, 1, 8);
        var e = assertThrows(IllegalArgumentException.class, () -> Loader.builder(data).batchSize(11).dropLast(true).build());
        assertTrue(e.getMessage().contains("larger than the data set"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Loader.builder(data).depth(0).build());
        assertThrows(IllegalArgumentException.class, () -> Loader.builder(data).threads(0).build());
    }
}
