package dev.jmoco.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An image folder never reads outside itself, never skips what it cannot read, and numbers classes by name. */
class ImageFolderSafetyTest {
    @TempDir Path dir;

    private Path image(String... path) throws IOException {
        Path file = dir.resolve(String.join("/", path));
        Files.createDirectories(file.getParent());
        BufferedImage img = new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB);
        img.setRGB(0, 0, path[path.length - 2].hashCode() & 0xFFFFFF);
        assertTrue(ImageIO.write(img, "png", file.toFile()));
        return file;
    }

    private DatasetFormatException refused(Path data) {
        return assertThrows(DatasetFormatException.class, () -> Datasets.openFolder(data, "train", 3, 0, null));
    }

    @Test
    void aLinkOutOfTheDataFolderIsRefused() throws IOException {
        Path data = dir.resolve("data");
        image("data", "train", "a", "0.png");
        Path secret = image("elsewhere", "x", "secret.png");
        Path link = Files.createSymbolicLink(data.resolve("train/a/1.png"), secret);
        var e = refused(data);
        assertTrue(e.getMessage().startsWith(link + ": links outside the data folder"), e.getMessage());
        Files.delete(link);
        Files.createSymbolicLink(data.resolve("train/b"), secret.getParent()); // a class folder elsewhere
        assertTrue(refused(data).getMessage().startsWith(data.resolve("train/b") + ": links outside"));
    }

    @Test
    void aLinkInsideTheDataFolderIsFollowed() throws IOException {
        Path data = dir.resolve("data");
        Path real = image("data", "train", "a", "0.png");
        Files.createDirectories(data.resolve("train/b"));
        Files.createSymbolicLink(data.resolve("train/b/0.png"), real);
        assertEquals(2, Datasets.openFolder(data, "train", 3, 0, null).size());
    }

    @Test
    void aFifoAFolderOrALinkLoopNamedLikeAnImageIsNamedNotSkipped() throws Exception {
        Path data = dir.resolve("data");
        image("data", "train", "a", "0.png");
        Path folder = Files.createDirectories(data.resolve("train/a/sub.png"));
        assertTrue(refused(data).getMessage().startsWith(folder + ": is named like an image but is a folder"));
        Files.delete(folder);
        Path fifo = data.resolve("train/a/pipe.png");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        var e = assertTimeoutPreemptively(java.time.Duration.ofSeconds(30), () -> refused(data), "a FIFO blocks");
        assertTrue(e.getMessage().startsWith(fifo + ": is named like an image but is not a regular file"),
                e.getMessage());
        Files.delete(fifo);
        Path loop = data.resolve("train/a/loop.png");
        Files.createSymbolicLink(loop, loop);
        assertTrue(refused(data).getMessage().startsWith(loop + ": is a symbolic link that cannot be followed"));
    }

    /** Train classes a, b, c; test classes a, c: c keeps index 2 (numbering per split gave it b's 1). */
    @Test
    void testClassesTakeTheTrainingSplitsIndicesByName() throws IOException {
        for (String c : List.of("a", "b", "c")) image("train", c, "0.png");
        image("test", "a", "0.png");
        image("test", "c", "0.png");
        Dataset train = Datasets.open("folder", dir, "train");
        Dataset test = Datasets.openTest("folder", dir, train);
        assertEquals(List.of("a", "b", "c"), test.classNames());
        assertEquals(3, test.numClasses());
        assertArrayEquals(new int[] {0, 2}, test.labels());
        image("test", "d", "0.png");
        var e = assertThrows(DatasetFormatException.class, () -> Datasets.openTest("folder", dir, train));
        assertTrue(e.getMessage().startsWith(dir.resolve("test/d") + ": class 'd' is not among the 3 classes of "
                + "the training split (a, b, c)"), e.getMessage());
    }

    @Test
    void testImagesOfAnotherShapeThanTheTrainingImagesAreNamed() throws IOException {
        image("train", "a", "0.png");
        Path big = dir.resolve("test/a/0.png");
        Files.createDirectories(big.getParent());
        ImageIO.write(new BufferedImage(6, 6, BufferedImage.TYPE_INT_RGB), "png", big.toFile());
        Dataset train = Datasets.open("folder", dir, "train");
        var e = assertThrows(DatasetFormatException.class, () -> Datasets.openTest("folder", dir, train));
        assertTrue(e.getMessage().contains("test images are 3x6x6, the training images 3x4x4"), e.getMessage());
    }
}
