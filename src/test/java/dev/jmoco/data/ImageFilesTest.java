package dev.jmoco.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.DeflaterOutputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Decoding single image files: sizes checked before decoding, and every failure named on one line. */
class ImageFilesTest {
    @TempDir Path dir;

    /** A PNG chunk: length, type, data and the CRC-32 of type and data. */
    static void chunk(DataOutputStream out, String type, byte[] data) throws IOException {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeInt(data.length);
        out.write(t);
        out.write(data);
        out.writeInt((int) crc.getValue());
    }

    /**
     * A PNG of 8-bit RGB that declares {@code width} x {@code height} pixels but holds the deflated
     * {@code rawBytes} zero bytes only: a few hundred bytes whatever size it claims.
     */
    static byte[] png(int width, int height, int rawBytes) throws IOException {
        var bytes = new ByteArrayOutputStream();
        var out = new DataOutputStream(bytes);
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        chunk(out, "IHDR", ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) 8).put((byte) 2)
                .put(new byte[3]).array());
        var idat = new ByteArrayOutputStream();
        try (var z = new DeflaterOutputStream(idat)) { z.write(new byte[rawBytes]); }
        chunk(out, "IDAT", idat.toByteArray());
        chunk(out, "IEND", new byte[0]);
        return bytes.toByteArray();
    }

    private Path write(String name, byte[] content) throws IOException {
        Path file = dir.resolve(name);
        Files.write(file, content);
        return file;
    }

    private static String failure(Path file) {
        String m = assertThrows(DatasetFormatException.class, () -> ImageFiles.decode(file)).getMessage();
        assertTrue(m.startsWith(file + ": "), "names the file: " + m);
        assertFalse(m.contains("\n") || m.contains("\r"), "one line: " + m);
        return m;
    }

    @Test void decodesAPngItBuilt() throws IOException {
        DecodedImage img = ImageFiles.decode(write("small.png", png(3, 2, 2 * (1 + 3 * 3))));
        assertEquals(3, img.width());
        assertEquals(2, img.height());
        assertArrayEquals(new byte[3 * 2 * 3], img.pixels());
    }

    @Test void thirtyThousandSquareIsRefusedFromItsHeaderBeforeDecoding() throws IOException {
        Path file = write("huge.png", png(30_000, 30_000, 1 << 16));
        assertTrue(Files.size(file) < 1000);
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        String m = failure(file);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertEquals(file + ": image size 30000x30000 exceeds the limit of 8192 pixels a side and 40000000 pixels"
                + " in all", m);
        assertTrue(allocated < 64 << 20, "allocated " + allocated + " bytes");
    }

    @Test void pixelCountIsLimitedToo() throws IOException {
        assertTrue(failure(write("wide.png", png(8000, 8000, 100))).contains("image size 8000x8000 exceeds"));
        assertTrue(failure(write("long.png", png(8193, 1, 100))).contains("image size 8193x1 exceeds"));
    }

    @Test void textIsNotAnImage() throws IOException {
        assertEquals(dir.resolve("notes.png") + ": not a PNG or JPEG image (its content matches no image format)",
                failure(write("notes.png", "this is not a png".getBytes(StandardCharsets.US_ASCII))));
        assertTrue(failure(write("empty.jpg", new byte[0])).contains("not a PNG or JPEG image"));
    }

    @Test void otherImageFormatsAreRefused() throws IOException {
        Path gif = dir.resolve("really-a-gif.png");
        assertTrue(ImageIO.write(new BufferedImage(4, 4, BufferedImage.TYPE_BYTE_INDEXED), "gif", gif.toFile()));
        assertEquals(gif + ": not a PNG or JPEG image (it is gif)", failure(gif));
    }

    @Test void truncatedAndCorruptImagesCannotBeDecoded() throws IOException {
        byte[] good = png(16, 16, 16 * (1 + 16 * 3));
        String m = failure(write("cut.png", Arrays.copyOf(good, good.length - 30)));
        assertTrue(m.contains(": cannot decode image: "), m);
        byte[] badDepth = good.clone();
        badDepth[24] = 3; // IHDR bit depth 3 (with a wrong CRC, which the decoder does not check)
        assertTrue(failure(write("depth.png", badDepth)).contains(": cannot decode image: "));
        assertTrue(failure(write("missing.png", new byte[0]).resolveSibling("absent.png")).contains("cannot open"));
    }

    /** A marker stream of SOI, {@code scans} empty scans and EOI: the walk refuses it before any decoder runs. */
    @Test void tooManyScansAreRefusedBeforeDecoding() throws IOException {
        var b = new ByteArrayOutputStream();
        b.write(new byte[] {(byte) 0xFF, (byte) 0xD8});
        for (int i = 0; i <= JpegStructure.MAX_SCANS; i++) b.write(new byte[] {(byte) 0xFF, (byte) 0xDA, 0, 2, 1, 2});
        b.write(new byte[] {(byte) 0xFF, (byte) 0xD9});
        Path file = write("scans.jpg", b.toByteArray());
        for (ImageDecoder jpeg : new ImageDecoder[] {ImageFiles.jpegDecoder(), ImageIoDecoder.INSTANCE})
            assertEquals(file + ": JPEG with more than 500 scans: refused (it could take minutes to decode)",
                    assertThrows(DatasetFormatException.class, () -> ImageFiles.decode(file, jpeg)).getMessage());
    }
}
