package dev.jmoco.data;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Locale;

/**
 * Decodes one PNG or JPEG file, safely for files from anywhere, to the pixels torchvision's default loader
 * ({@code Image.open(f).convert('RGB')}) gives: JPEG through libjpeg-turbo ({@link TurboJpeg}) where it is
 * installed, else through javax.imageio ({@link ImageIoDecoder}, said once on stderr); PNG through
 * javax.imageio. EXIF orientation is not applied, as PIL's open + convert does not apply it. The size is read
 * from the header and checked against {@value #MAX_SIDE} pixels a side and {@value #MAX_PIXELS} pixels in all
 * before any pixel memory is allocated (a PNG of a few hundred bytes can declare 30000 x 30000 pixels), and
 * every failure is a {@link DatasetFormatException} of one line naming the file.
 *
 * <p>The system property {@code jmoco.data.jpeg} chooses the JPEG decoder: {@code auto} (the default) or
 * {@code imageio} (javax.imageio even where libjpeg-turbo is installed).
 */
final class ImageFiles {
    /** The widest or tallest image accepted, in pixels. */
    static final int MAX_SIDE = 8192;
    /** The most pixels accepted in one image (40 megapixels: 160 MB decoded as 8-bit RGBA). */
    static final long MAX_PIXELS = 40_000_000L;
    /** The largest file read (the whole file is read before decoding). */
    static final long MAX_FILE_BYTES = 256L << 20;

    private ImageFiles() {}

    private static final class Jpeg {
        static final ImageDecoder DECODER = jpegDecoder(System.getProperty("jmoco.data.jpeg", "auto"),
                TurboJpeg.LIBRARY, System.err);
    }

    /** The JPEG decoder this JVM uses. */
    static ImageDecoder jpegDecoder() { return Jpeg.DECODER; }

    /**
     * The JPEG decoder for {@code mode} (auto or imageio): with auto, TurboJPEG from {@code library}, or, where it
     * cannot be loaded, javax.imageio and one line on {@code err} saying why.
     */
    static ImageDecoder jpegDecoder(String mode, String library, PrintStream err) {
        switch (mode.toLowerCase(Locale.ROOT)) {
            case "imageio" -> { return ImageIoDecoder.INSTANCE; }
            case "auto" -> {
                try {
                    return TurboJpeg.load(library);
                } catch (IllegalStateException e) {
                    err.println("jmoco: data: libjpeg-turbo not used: " + e.getMessage() + " (Debian: apt-get install"
                            + " libturbojpeg0); JPEGs are decoded by javax.imageio, slower, and off PIL's pixels for"
                            + " 4:4:0 chroma subsampling");
                    return ImageIoDecoder.INSTANCE;
                }
            }
            default -> throw new IllegalArgumentException("jmoco.data.jpeg must be auto or imageio, got " + mode);
        }
    }

    /** The decoded image; fails naming the file when it is not a PNG or JPEG, too large, truncated or corrupt. */
    static DecodedImage decode(Path file) throws DatasetFormatException {
        return decode(file, jpegDecoder());
    }

    /** As {@link #decode(Path)}, with JPEGs decoded by {@code jpeg}. */
    static DecodedImage decode(Path file, ImageDecoder jpeg) throws DatasetFormatException {
        byte[] content = read(file);
        boolean isJpeg = content.length >= 3 && (content[0] & 0xFF) == 0xFF && (content[1] & 0xFF) == 0xD8
                && (content[2] & 0xFF) == 0xFF;
        if (!isJpeg) return ImageIoDecoder.INSTANCE.decode(file, content); // PNG, or a message saying what it is
        JpegStructure.of(file, content); // truncated or too many scans: refused the same by both decoders
        return jpeg.decode(file, content);
    }

    /** The whole file; only a regular file is read (a FIFO would block the reader). */
    private static byte[] read(Path file) throws DatasetFormatException {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            if (!a.isRegularFile()) throw new DatasetFormatException(file, "cannot open image file: not a regular file");
            if (a.size() > MAX_FILE_BYTES)
                throw new DatasetFormatException(file, "file of " + a.size() + " bytes exceeds the limit of "
                        + MAX_FILE_BYTES + " bytes for an image");
            return Files.readAllBytes(file);
        } catch (DatasetFormatException e) {
            throw e;
        } catch (IOException e) {
            throw new DatasetFormatException(file, "cannot open image file: " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : " (" + e.getMessage().replaceAll("\\s+", " ") + ")"), e);
        }
    }

    static void checkSize(Path file, int width, int height) throws DatasetFormatException {
        if (width <= 0 || height <= 0)
            throw new DatasetFormatException(file, "image size " + width + "x" + height + " is not positive");
        if (width > MAX_SIDE || height > MAX_SIDE || (long) width * height > MAX_PIXELS)
            throw new DatasetFormatException(file, "image size " + width + "x" + height + " exceeds the limit of "
                    + MAX_SIDE + " pixels a side and " + MAX_PIXELS + " pixels in all");
    }
}
