package dev.jmoco.eval;

import dev.jmoco.testing.LeakCheckedCpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The raw-pixel baselines on "images" where standardising matters: the class lives in two low-variance pixels,
 * while two high-variance pixels carry noise, and a large constant offset is common to all. Unit-normalised
 * raw pixels are dominated by offset and noise; standardised pixels weigh the informative ones equally.
 */
class RawPixelBaselineTest {
    @RegisterExtension
    static final LeakCheckedCpuBackend CPU = new LeakCheckedCpuBackend();

    private static FeatureSet images(java.util.Random r, int rows) {
        float[] x = new float[rows * 5];
        int[] y = new int[rows];
        for (int i = 0; i < rows; i++) {
            y[i] = r.nextInt(2);
            float s = y[i] == 0 ? -1 : 1;
            x[i * 5] = 0.1f * s + 0.02f * (float) r.nextGaussian();
            x[i * 5 + 1] = -0.1f * s + 0.02f * (float) r.nextGaussian();
            x[i * 5 + 2] = 5 * (float) r.nextGaussian();
            x[i * 5 + 3] = 5 * (float) r.nextGaussian();
            x[i * 5 + 4] = 20;
        }
        return new FeatureSet(x, rows, 5, y);
    }

    @Test
    void standardisingRescuesTheInformativePixels() {
        var r = new java.util.Random(6);
        FeatureSet train = images(r, 400), test = images(r, 200);
        var settings = new KnnMonitor.Settings(20, 0.1f, 0);
        KnnResult unit = RawPixelBaseline.unitNormalised(CPU.backend(), train, test, 2, settings);
        KnnResult standard = RawPixelBaseline.standardised(CPU.backend(), train, test, 2, settings);
        assertEquals(200, unit.total());
        assertEquals(1.0, standard.accuracy(), 1e-12, "standardised pixels separate the classes");
        assertTrue(unit.accuracy() < 0.8, "raw pixels should be near chance, got " + unit.accuracy());
        // both are exactly the monitor on the corresponding features
        FeatureStandardizer z = FeatureStandardizer.fit(train);
        try (KnnMonitor knn = KnnMonitor.build(CPU.backend(), z.apply(train), 2, settings)) {
            assertArrayEquals(knn.evaluate(z.apply(test)).predictions(), standard.predictions());
        }
        try (KnnMonitor knn = KnnMonitor.build(CPU.backend(), train, 2, settings)) {
            assertArrayEquals(knn.evaluate(test).predictions(), unit.predictions());
        }
    }
}
