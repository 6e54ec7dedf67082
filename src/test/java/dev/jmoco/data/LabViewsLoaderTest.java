package dev.jmoco.data;

import dev.jmoco.testing.ColourFolder;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The loader's Lab views (CMC's input) against a plain reference: the RGB augmentation of the same draws,
 * unnormalised, converted by {@link LabColor} and normalised with CMC's statistics in double; L is view 0, ab
 * view 1, one augmentation per image. Tolerance abs 1e-5 + rel 1e-5: the loader normalises in float.
 */
class LabViewsLoaderTest {
    private static final int SIDE = ColourFolder.SIDE, PLANE = SIDE * SIDE;

    @TempDir Path dir;

    /** The reference Lab view of image {@code idx}: crop and flip drawn as view 0 of (seed, epoch). */
    private static double[] referenceLab(Dataset data, AugmentationRecipe recipe, int idx, long seed, int epoch) {
        Augmenter rgb = new Augmenter(recipe, 3, SIDE, SIDE, Normalization.IDENTITY.forChannels(3));
        float[] pixels = new float[3 * PLANE], lab = new float[3 * PLANE];
        rgb.augment(data.image(idx), 0, SampleRandom.forView(seed, epoch, idx, 0), pixels, 0);
        LabColor.fromRgb(pixels, 0, PLANE, lab, 0);
        double[] out = new double[lab.length];
        for (int i = 0; i < lab.length; i++) {
            int c = i / PLANE;
            out[i] = (lab[i] - (double) LabColor.NORMALIZATION.mean(c)) / LabColor.NORMALIZATION.std(c);
        }
        return out;
    }

    @Test
    void splitViewsAreLAndAbOfOneAugmentationInLab() throws IOException {
        ColourFolder.write(dir, 4, 1);
        Dataset data = Datasets.open("folder", dir, "train", 0);
        AugmentationRecipe cmc = AugmentationRecipe.cmc(0);
        int seen = 0;
        try (Loader loader = Loader.builder(data).training(cmc, 3).labSplit().batchSize(4).threads(2).build();
             Loader.Epoch epoch = loader.epoch(1)) {
            assertEquals(1, loader.viewChannels(0));
            assertEquals(2, loader.viewChannels(1));
            assertEquals(ColorSpace.LAB, loader.colorSpace());
            while (epoch.hasNext()) {
                try (Batch b = epoch.next()) {
                    for (int s = 0; s < b.size(); s++, seen++) {
                        int idx = b.indices()[s];
                        double[] lab = referenceLab(data, cmc, idx, 3, 1);
                        Tolerance.assertClose("L of " + idx, Arrays.copyOf(lab, PLANE),
                                Arrays.copyOfRange(b.view(0), s * PLANE, (s + 1) * PLANE), 1e-5, 1e-5);
                        Tolerance.assertClose("ab of " + idx, Arrays.copyOfRange(lab, PLANE, 3 * PLANE),
                                Arrays.copyOfRange(b.view(1), s * 2 * PLANE, (s + 1) * 2 * PLANE), 1e-5, 1e-5);
                    }
                }
            }
        }
        assertEquals(12, seen, "every image once (drop-last: 12 of 12)");
    }

    @Test
    void labChannelsGiveOnePartAndEvaluationViewsAllThree() throws IOException {
        ColourFolder.write(dir, 2, 2);
        Dataset data = Datasets.open("folder", dir, "train", 0);
        AugmentationRecipe none = AugmentationRecipe.none();
        try (Loader ab = Loader.builder(data).recipe(none).labChannels(1, 2).batchSize(6).threads(1).build();
             Loader all = Loader.builder(data).colorSpace(ColorSpace.LAB).batchSize(6).threads(1).build();
             Loader.Epoch e1 = ab.epoch(0); Loader.Epoch e2 = all.epoch(0);
             Batch b1 = e1.next(); Batch b2 = e2.next()) {
            for (int s = 0; s < 6; s++) {
                double[] lab = referenceLab(data, none, s, 0, 0);
                Tolerance.assertClose("Lab of " + s, lab, Arrays.copyOfRange(b2.view(0), s * 3 * PLANE,
                        (s + 1) * 3 * PLANE), 1e-5, 1e-5);
                Tolerance.assertClose("ab of " + s, Arrays.copyOfRange(lab, PLANE, 3 * PLANE),
                        Arrays.copyOfRange(b1.view(0), s * 2 * PLANE, (s + 1) * 2 * PLANE), 1e-5, 1e-5);
            }
        }
    }

    @Test
    void grayscaleImagesRefuseLabNamingTheDataSet() throws IOException {
        Dataset grey = Dataset.ofFiles("greys", java.util.List.of(Path.of("x.png")), new int[] {0}, 1, 8, 1,
                Normalization.IDENTITY, java.util.List.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Loader.builder(grey).colorSpace(ColorSpace.LAB).build());
        assertTrue(e.getMessage().contains("greys has 1 channel (grayscale)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Loader.builder(grey).labSplit().build());
    }
}
