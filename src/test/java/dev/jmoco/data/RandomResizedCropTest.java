package dev.jmoco.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** torchvision's crop parameters: bounds of every draw, statistics over many, and the central fallback. */
class RandomResizedCropTest {
    private static final double SCALE_MIN = 0.2, RATIO_MIN = 3.0 / 4, RATIO_MAX = 4.0 / 3;

    @Test void everyDrawIsWithinTheBoundsUpToRounding() {
        for (int side : new int[] {28, 32, 224}) {
            SplittableRandom rng = new SplittableRandom(side);
            int draws = 20000;
            double minScale = 1, maxScale = 0, minRatio = 10, maxRatio = 0, sumScale = 0, sumLogRatio = 0, sumPlace = 0;
            int placed = 0;
            for (int i = 0; i < draws; i++) {
                var c = RandomResizedCrop.sample(side, side, SCALE_MIN, 1, RATIO_MIN, RATIO_MAX, rng);
                int h = c.height(), w = c.width();
                assertTrue(h > 0 && w > 0 && c.top() >= 0 && c.left() >= 0 && c.top() + h <= side && c.left() + w <= side, c::toString);
                // w and h are rounded from sqrt(area * ratio) and sqrt(area / ratio): off by at most 0.5 each
                assertTrue((w + 0.5) * (h + 0.5) >= SCALE_MIN * side * side, c::toString);
                assertTrue((w + 0.5) / (h - 0.5) >= RATIO_MIN && (w - 0.5) / (h + 0.5) <= RATIO_MAX, c::toString);
                double scale = (double) w * h / (side * side), ratio = (double) w / h;
                minScale = Math.min(minScale, scale);
                maxScale = Math.max(maxScale, scale);
                minRatio = Math.min(minRatio, ratio);
                maxRatio = Math.max(maxRatio, ratio);
                sumScale += scale;
                sumLogRatio += Math.log(ratio);
                if (h < side) { sumPlace += (double) c.top() / (side - h); placed++; }
            }
            String at = " at " + side;
            assertTrue(minScale < 0.23 && maxScale > 0.95, "scale range " + minScale + ".." + maxScale + at);
            assertTrue(minRatio < 0.8 && maxRatio > 1.25, "ratio range " + minRatio + ".." + maxRatio + at);
            // log-uniform ratio: the mean log ratio is 0 (sd of one draw 0.17, of the mean ~0.0012)
            assertEquals(0, sumLogRatio / draws, 0.01, "mean log ratio" + at);
            // uniform scale in [0.2, 1] has mean 0.6; crops that do not fit are redrawn, lowering it a little
            double meanScale = sumScale / draws;
            assertTrue(meanScale > 0.54 && meanScale < 0.62, "mean scale " + meanScale + at);
            assertEquals(0.5, sumPlace / placed, 0.02, "uniform placement" + at);
        }
    }

    @Test void impossibleRatioFallsBackToTheCentralCrop() {
        SplittableRandom rng = new SplittableRandom(1);
        // a wide ratio never fits a square at full scale: width kept, height = round(10 / 2) = 5, centred
        assertEquals(new RandomResizedCrop.Crop(2, 0, 5, 10), RandomResizedCrop.sample(10, 10, 1, 1, 2, 3, rng));
        // a tall ratio: height kept, width = round(10 * 0.4) = 4, centred
        assertEquals(new RandomResizedCrop.Crop(0, 3, 10, 4), RandomResizedCrop.sample(10, 10, 1, 1, 0.25, 0.4, rng));
        // a square ratio at full scale never fits 10x12 (11x11): the centred 10x10
        assertEquals(new RandomResizedCrop.Crop(0, 1, 10, 10), RandomResizedCrop.sample(10, 12, 1, 1, 1, 1, rng));
        // the image's own ratio at full scale fits at once: the whole image
        assertEquals(new RandomResizedCrop.Crop(0, 0, 10, 12), RandomResizedCrop.sample(10, 12, 1, 1, 1.2, 1.2, rng));
    }
}
