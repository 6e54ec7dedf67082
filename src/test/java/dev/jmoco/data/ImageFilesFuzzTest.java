package dev.jmoco.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jmoco.testing.FuzzCase;
import dev.jmoco.testing.Mutator;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ImageFiles#decode} on seeded mutations of PNGs (RGB, RGBA, 8- and 16-bit grey, palette, 1-bit,
 * interlaced) and JPEGs (colour, grey, progressive) written with javax.imageio, the size fields of their
 * headers among the targets; JPEGs alternate between the two decoders. Each file either decodes to an image
 * within the limits that converts to channels, or is refused with a one-line DatasetFormatException naming it.
 */
class ImageFilesFuzzTest {
    private static final int CASES_PER_SEED = 40, W = 13, H = 9;
    @TempDir Path dir;

    private record Seed(String name, byte[] bytes, List<Mutator.Field> fields, boolean png) {}

    private static BufferedImage image(int type) {
        BufferedImage img = new BufferedImage(W, H, type);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) img.setRGB(x, y, (x * 19 << 16) | (y * 27 << 8) | (x * y * 5 & 0xFF) | 0x80000000);
        return img;
    }

    private static byte[] encode(BufferedImage img, String format, boolean progressive) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName(format).next();
        var bytes = new ByteArrayOutputStream();
        try (var out = new MemoryCacheImageOutputStream(bytes)) {
            writer.setOutput(out);
            ImageWriteParam param = writer.getDefaultWriteParam();
            if (progressive) param.setProgressiveMode(ImageWriteParam.MODE_DEFAULT); // PNG: Adam7 interlacing
            writer.write(null, new IIOImage(img, null, null), param);
        } finally {
            writer.dispose();
        }
        return bytes.toByteArray();
    }

    private static Seed png(String name, BufferedImage img, boolean interlaced) throws IOException {
        // IHDR width and height, big-endian at 16 and 20
        return new Seed(name, encode(img, "png", interlaced),
                List.of(Mutator.Field.bigEndianInt(16), Mutator.Field.bigEndianInt(20)), true);
    }

    private static Seed jpeg(String name, BufferedImage img, boolean progressive) throws IOException {
        byte[] b = encode(img, "jpeg", progressive);
        List<Mutator.Field> fields = new ArrayList<>();
        for (int i = 0; i + 8 < b.length; i++)
            if ((b[i] & 0xFF) == 0xFF && ((b[i + 1] & 0xFF) == 0xC0 || (b[i + 1] & 0xFF) == 0xC2)) {
                // start of frame: length (2), precision (1), height (2), width (2), components (1)
                fields.add(Mutator.Field.bigEndianShort(i + 5));
                fields.add(Mutator.Field.bigEndianShort(i + 7));
                break;
            }
        assertEquals(2, fields.size(), name + ": a start-of-frame marker");
        return new Seed(name, b, fields, false);
    }

    private static List<Seed> seeds() throws IOException {
        return List.of(
                png("rgb.png", image(BufferedImage.TYPE_INT_RGB), false),
                png("rgba.png", image(BufferedImage.TYPE_INT_ARGB), false),
                png("grey.png", image(BufferedImage.TYPE_BYTE_GRAY), false),
                png("grey16.png", image(BufferedImage.TYPE_USHORT_GRAY), false),
                png("palette.png", image(BufferedImage.TYPE_BYTE_INDEXED), false),
                png("binary.png", image(BufferedImage.TYPE_BYTE_BINARY), false),
                png("interlaced.png", image(BufferedImage.TYPE_INT_RGB), true),
                jpeg("rgb.jpg", image(BufferedImage.TYPE_INT_RGB), false),
                jpeg("grey.jpg", image(BufferedImage.TYPE_BYTE_GRAY), false),
                jpeg("progressive.jpg", image(BufferedImage.TYPE_INT_RGB), true));
    }

    @Test void seedsDecode() throws IOException {
        for (Seed s : seeds()) {
            Path file = dir.resolve(s.name());
            Files.write(file, s.bytes());
            DecodedImage img = ImageFiles.decode(file);
            assertEquals(W, img.width(), s.name());
            assertEquals(H, img.height(), s.name());
        }
    }

    @Test void mutatedImagesDecodeWithinTheLimitsOrAreRefused() throws IOException {
        Mutator mutator = new Mutator(0x1A6E_0001L);
        FuzzCase.Tally tally = new FuzzCase.Tally();
        int ihdrCrcFixed = 0;
        for (Seed s : seeds()) {
            Path file = dir.resolve("fuzz-" + s.name());
            for (int i = 0; i < CASES_PER_SEED; i++) {
                Mutator.Mutant m = mutator.mutate(s.bytes(), s.fields());
                byte[] bytes = m.bytes();
                // every other PNG case gets a correct IHDR CRC, so a decoder that checked it is fuzzed past it
                if (s.png() && i % 2 == 0 && fixIhdrCrc(bytes)) ihdrCrcFixed++;
                Files.write(file, bytes);
                String name = s.name() + " case " + i + " (" + m.how() + ")";
                // JPEGs through both decoders: libjpeg-turbo (the default where installed) and javax.imageio
                ImageDecoder jpeg = i % 2 == 0 ? ImageFiles.jpegDecoder() : ImageIoDecoder.INSTANCE;
                FuzzCase.run(name, () -> ImageFiles.decode(file, jpeg), DatasetFormatException.class, file.toString(),
                        img -> {
                            assertTrue(img.width() > 0 && img.width() <= ImageFiles.MAX_SIDE, name);
                            assertTrue(img.height() > 0 && img.height() <= ImageFiles.MAX_SIDE, name);
                            assertTrue((long) img.width() * img.height() <= ImageFiles.MAX_PIXELS, name);
                            for (int channels : new int[] {1, 3})
                                assertEquals(channels * img.width() * img.height(), img.planes(channels).length,
                                        name);
                        }, tally);
            }
        }
        assertTrue(ihdrCrcFixed > 0);
        assertTrue(tally.accepted() > 0 && tally.refused() > 0, "both outcomes occur: " + tally);
    }

    /** Rewrites the CRC of an IHDR chunk still at its place (offset 8, 13 bytes of data); false if gone. */
    private static boolean fixIhdrCrc(byte[] b) {
        if (b.length < 33 || b[12] != 'I' || b[13] != 'H' || b[14] != 'D' || b[15] != 'R') return false;
        CRC32 crc = new CRC32();
        crc.update(b, 12, 17);
        ByteBuffer.wrap(b).putInt(29, (int) crc.getValue());
        return true;
    }
}
