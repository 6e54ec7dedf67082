package dev.jmoco.data;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Decodes one PNG or JPEG file with javax.imageio, safely for files from anywhere: the size is read from the
 * header and checked against {@value #MAX_SIDE} pixels a side and {@value #MAX_PIXELS} pixels in all before
 * any pixel memory is allocated (a PNG of a few hundred bytes can declare 30000 x 30000 pixels), and every
 * failure is a {@link DatasetFormatException} of one line naming the file. Only the PNG and JPEG decoders
 * are used, whatever else javax.imageio knows.
 */
final class ImageFiles {
    /** The widest or tallest image accepted, in pixels. */
    static final int MAX_SIDE = 8192;
    /** The most pixels accepted in one image (40 megapixels: 160 MB decoded as 8-bit RGBA). */
    static final long MAX_PIXELS = 40_000_000L;
    private static final int MESSAGE_CHARS = 200;

    private ImageFiles() {}

    /** The decoded image; fails naming the file when it is not a PNG or JPEG, too large or corrupt. */
    static BufferedImage decode(Path file) throws DatasetFormatException {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) throw new DatasetFormatException(file, "cannot open image file");
            ImageReader reader = pngOrJpegReader(file, in);
            try {
                reader.setInput(in, true, true); // forward only, metadata (text, ICC profiles) skipped
                int width = reader.getWidth(0), height = reader.getHeight(0);
                checkSize(file, width, height);
                return reader.read(0);
            } finally {
                reader.dispose();
            }
        } catch (DatasetFormatException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // javax.imageio's decoders throw many kinds of runtime exception on corrupt data, not only IOException
            throw new DatasetFormatException(file, "cannot decode image: " + describe(e), e);
        }
    }

    private static ImageReader pngOrJpegReader(Path file, ImageInputStream in) throws IOException {
        Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
        String other = null;
        while (readers.hasNext()) {
            ImageReader reader = readers.next();
            String format = reader.getOriginatingProvider() == null ? ""
                    : Arrays.toString(reader.getOriginatingProvider().getFormatNames()).toLowerCase(Locale.ROOT);
            if (format.contains("png") || format.contains("jpeg")) return reader;
            if (other == null) other = reader.getFormatName();
            reader.dispose();
        }
        throw new DatasetFormatException(file, "not a PNG or JPEG image"
                + (other == null ? " (its content matches no image format)" : " (it is " + other + ")"));
    }

    private static void checkSize(Path file, int width, int height) throws DatasetFormatException {
        if (width <= 0 || height <= 0)
            throw new DatasetFormatException(file, "image size " + width + "x" + height + " is not positive");
        if (width > MAX_SIDE || height > MAX_SIDE || (long) width * height > MAX_PIXELS)
            throw new DatasetFormatException(file, "image size " + width + "x" + height + " exceeds the limit of "
                    + MAX_SIDE + " pixels a side and " + MAX_PIXELS + " pixels in all");
    }

    /** The exception and its first cause in one line, e.g. "Error reading PNG image data (EOFException: ...)". */
    private static String describe(Throwable e) {
        String text = message(e);
        Throwable cause = e.getCause();
        if (cause != null && cause != e) text += " (" + message(cause) + ")";
        text = text.replaceAll("\\s+", " ").strip();
        return text.length() <= MESSAGE_CHARS ? text : text.substring(0, MESSAGE_CHARS) + "...";
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        boolean plain = e instanceof IOException && m != null && !m.isBlank();
        return plain ? m : e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }
}
