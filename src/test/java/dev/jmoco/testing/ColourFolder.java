package dev.jmoco.testing;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;

/**
 * A small image folder of colour PNGs written by javax.imageio's encoder, for the Lab (CMC) views: train/ and
 * test/, classes "disk", "square" and "bar", each image a shape in one random colour on a background of
 * another, side {@link #SIDE}. Shape is the class; the colours carry no label, so what L and ab share is the shape.
 */
public final class ColourFolder {
    public static final int SIDE = 16;
    public static final String[] CLASSES = {"disk", "square", "bar"};

    private ColourFolder() {}

    /** Writes {@code perClass} training and {@code perClass / 2} test images per class into {@code dir}. */
    public static Path write(Path dir, int perClass, long seed) throws IOException {
        SplittableRandom r = new SplittableRandom(seed);
        for (String split : new String[] {"train", "test"}) {
            int n = split.equals("train") ? perClass : perClass / 2;
            for (int c = 0; c < CLASSES.length; c++)
                for (int i = 0; i < n; i++) {
                    Path file = dir.resolve(split).resolve(CLASSES[c]).resolve(i + ".png");
                    Files.createDirectories(file.getParent());
                    if (!ImageIO.write(image(c, r), "png", file.toFile())) throw new IOException("no PNG writer");
                }
        }
        return dir;
    }

    private static BufferedImage image(int shape, SplittableRandom r) {
        BufferedImage img = new BufferedImage(SIDE, SIDE, BufferedImage.TYPE_INT_RGB);
        int fg = r.nextInt(1 << 24), bg = r.nextInt(1 << 24);
        double cx = 5 + r.nextInt(6), cy = 5 + r.nextInt(6), size = 3 + r.nextInt(3);
        for (int y = 0; y < SIDE; y++)
            for (int x = 0; x < SIDE; x++) {
                double dx = x - cx, dy = y - cy;
                boolean in = switch (shape) {
                    case 0 -> dx * dx + dy * dy <= size * size;
                    case 1 -> Math.abs(dx) <= size && Math.abs(dy) <= size;
                    default -> Math.abs(dx) <= size + 2 && Math.abs(dy) <= 1;
                };
                img.setRGB(x, y, in ? fg : bg);
            }
        return img;
    }
}
