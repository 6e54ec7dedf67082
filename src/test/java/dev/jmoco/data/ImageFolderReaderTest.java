package dev.jmoco.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Folders of PNG/JPEG images written by the test with javax.imageio. */
class ImageFolderReaderTest {
    @TempDir Path dir;

    private static int red(int x, int y) { return (x * 40 + y * 3) & 0xFF; }

    private static int green(int x, int y) { return (y * 50 + 7) & 0xFF; }

    private static int blue(int x, int y, int k) { return (x * y + k * 20) & 0xFF; }

    /** An RGB image whose pixels follow red/green/blue above, k varying per image. */
    private static BufferedImage rgb(int w, int h, int k) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) img.setRGB(x, y, red(x, y) << 16 | green(x, y) << 8 | blue(x, y, k));
        return img;
    }

    private static BufferedImage grey(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) img.getRaster().setSample(x, y, 0, (x * 60 + y * 20) & 0xFF);
        return img;
    }

    private Path save(BufferedImage img, String format, String... path) throws IOException {
        Path file = dir.resolve(String.join("/", path));
        Files.createDirectories(file.getParent());
        assertTrue(ImageIO.write(img, format, file.toFile()));
        return file;
    }

    @Test void readsSplitFolderWithSortedClassesAsRgb() throws IOException {
        save(rgb(5, 4, 2), "png", "train", "zebra", "b.png");
        save(rgb(5, 4, 1), "png", "train", "zebra", "a.PNG");
        save(rgb(5, 4, 3), "png", "train", "apple", "x.png");
        Files.writeString(dir.resolve("train/apple/notes.txt"), "not an image");
        Dataset d = Datasets.openFolder(dir, "train", 3, 0, Normalization.IMAGENET);
        assertEquals(3, d.size());
        assertEquals(2, d.numClasses());
        assertArrayEquals(new int[] {0, 1, 1}, d.labels()); // apple < zebra; a.PNG before b.png
        assertEquals(4, d.height());
        assertEquals(5, d.width());
        int[] k = {3, 1, 2};
        for (int i = 0; i < 3; i++)
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 5; x++) {
                    assertEquals(red(x, y), d.pixel(i, 0, y, x));
                    assertEquals(green(x, y), d.pixel(i, 1, y, x));
                    assertEquals(blue(x, y, k[i]), d.pixel(i, 2, y, x));
                }
        assertEquals(Normalization.IMAGENET, d.normalization());
    }

    @Test void rgbToOneChannelUsesLumaWeights() throws IOException {
        save(rgb(6, 6, 0), "png", "c0", "img.png");
        Dataset d = Datasets.openFolder(dir, "train", 1, 0, null); // no train folder: DIR/CLASS
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 6; x++)
                assertEquals(Math.round(0.299 * red(x, y) + 0.587 * green(x, y) + 0.114 * blue(x, y, 0)),
                        d.pixel(0, 0, y, x), 1, "luma at " + x + "," + y); // float weights may round the other way
    }

    @Test void greyPngKeepsItsValuesAndExpandsToThreeChannels() throws IOException {
        save(grey(4, 3), "png", "test", "only", "g.png");
        Dataset d = Datasets.openFolder(dir, "test", 3, 0, null);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 4; x++) assertEquals((x * 60 + y * 20) & 0xFF, d.pixel(0, c, y, x));
        // statistics computed from the image: mean of the 12 values / 255
        double mean = 0;
        for (int y = 0; y < 3; y++) for (int x = 0; x < 4; x++) mean += (x * 60 + y * 20) & 0xFF;
        assertEquals(mean / 12 / 255, d.normalization().mean(0), 1e-6);
    }

    @Test void aSizeMakesEvaluationViewsCentreCropsOfTheResizedImage() throws IOException {
        // a constant image stays constant under any resize; a JPEG of a constant colour decodes exactly
        BufferedImage img = new BufferedImage(40, 30, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 30; y++) for (int x = 0; x < 40; x++) img.setRGB(x, y, 0x808080);
        save(img, "jpg", "a", "big.jpg");
        save(rgb(8, 8, 0), "png", "b", "small.png");
        Dataset d = Datasets.openFolder(dir, "train", 3, 16, null);
        assertTrue(d.inFiles() && d.resizes());
        assertEquals(16, d.height());
        assertEquals(16, d.width());
        for (int c = 0; c < 3; c++) assertEquals(0x80, d.pixel(0, c, 7, 9), 1);
        // 8 x 8 -> shorter side round(16 x 256 / 224) = 18, centre crop 16 from offset 1: view pixel (y, x) is
        // pixel (y + 1, x + 1) of the bilinear upscale (half-pixel centres, clamped edges)
        for (int y : new int[] {0, 5, 15})
            for (int x : new int[] {0, 2, 7, 15})
                assertEquals(Math.round(upscaled(y + 1, x + 1)), d.pixel(1, 0, y, x), "red at " + y + "," + x);
    }

    /** Red of rgb(8, 8, 0) upscaled bilinearly to 18 x 18, at (y, x). */
    private static double upscaled(int y, int x) {
        double sy = (y + 0.5) * 8 / 18 - 0.5, sx = (x + 0.5) * 8 / 18 - 0.5;
        int y0 = (int) Math.floor(sy), x0 = (int) Math.floor(sx);
        double fy = sy - y0, fx = sx - x0, v = 0;
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++)
                v += (a == 0 ? 1 - fy : fy) * (b == 0 ? 1 - fx : fx)
                        * red(Math.clamp(x0 + b, 0, 7), Math.clamp(y0 + a, 0, 7));
        return v;
    }

    @Test void differentSizeWithoutResizeNamesTheImage() throws IOException {
        save(rgb(5, 5, 0), "png", "a", "first.png");
        Path odd = save(rgb(6, 5, 0), "png", "b", "odd.png");
        String m = assertThrows(DatasetFormatException.class, () -> Datasets.open("folder", dir, "train")).getMessage();
        assertTrue(m.startsWith(odd + ": size 6x5 differs from 5x5 of first.png"), m);
    }

    @Test void unreadableImageIsNamed() throws IOException {
        save(rgb(5, 5, 0), "png", "a", "good.png");
        Path bad = dir.resolve("a/bad.png");
        Files.writeString(bad, "this is not a png");
        String m = assertThrows(DatasetFormatException.class, () -> Datasets.open("folder", dir, "train")).getMessage();
        assertTrue(m.startsWith(bad + ": "), m);
    }

    @Test void emptyOrMissingFolders() throws IOException {
        assertTrue(assertThrows(DatasetFormatException.class, () -> Datasets.open("folder", dir.resolve("nope"), "train"))
                .getMessage().contains("missing folder"));
        assertTrue(assertThrows(DatasetFormatException.class, () -> Datasets.open("folder", dir, "train"))
                .getMessage().contains("no class sub-folders"));
        Files.createDirectories(dir.resolve("cls"));
        assertTrue(assertThrows(DatasetFormatException.class, () -> Datasets.open("folder", dir, "train"))
                .getMessage().contains("no .png, .jpg or .jpeg images"));
    }
}
