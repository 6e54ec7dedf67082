package dev.jmoco.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.stream.ImageInputStream;

/**
 * PNG, and JPEG where libjpeg-turbo is missing, through the JDK's javax.imageio. Only its PNG and JPEG readers
 * are used, whatever else it knows. Samples are read from the raster, not through getRGB, so no colour-space
 * conversion (linear grey, ICC profiles) changes them: as PIL, which ignores both.
 */
final class ImageIoDecoder implements ImageDecoder {
    static final ImageIoDecoder INSTANCE = new ImageIoDecoder();
    private static final int MESSAGE_CHARS = 200;

    private ImageIoDecoder() {}

    @Override
    public DecodedImage decode(Path file, byte[] content) throws DatasetFormatException {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(content))) {
            ImageReader reader = pngOrJpegReader(file, in);
            try {
                reader.setInput(in, true, true); // forward only, metadata (text, ICC profiles) skipped
                ImageFiles.checkSize(file, reader.getWidth(0), reader.getHeight(0));
                return pixels(file, reader, content);
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

    private static DecodedImage pixels(Path file, ImageReader reader, byte[] content) throws IOException {
        if (!reader.getFormatName().toLowerCase(Locale.ROOT).contains("jp")) return fromImage(reader.read(0));
        JpegStructure jpeg = JpegStructure.of(file, content);
        if (jpeg.components() != 4) return fromImage(reader.read(0, asStored(reader)));
        // A CMYK JPEG has no BufferedImage type here ("Unsupported Image Type"); its raster has the stored
        // samples, without colour conversion: usable for Adobe's plain CMYK, not for YCCK
        if (jpeg.adobeTransform() == 2)
            throw new DatasetFormatException(file, "YCCK JPEG: javax.imageio cannot convert it; install libjpeg-turbo"
                    + " (Debian: libturbojpeg0), which can");
        Raster raw = reader.readRaster(0, null);
        return DecodedImage.fromInvertedCmyk(raw.getWidth(), raw.getHeight(), samples(raw, 4, 8));
    }

    /**
     * Read parameters that keep a JPEG's samples as stored: with an embedded ICC profile the reader's default
     * destination is sRGB, converted through the profile (PIL does not convert), and the destination with the
     * profile's own colour space keeps them.
     */
    private static ImageReadParam asStored(ImageReader reader) throws IOException {
        ImageReadParam param = reader.getDefaultReadParam();
        ColorSpace srgb = ColorSpace.getInstance(ColorSpace.CS_sRGB);
        for (Iterator<ImageTypeSpecifier> types = reader.getImageTypes(0); types.hasNext(); ) {
            ImageTypeSpecifier type = types.next();
            ColorSpace cs = type.getColorModel().getColorSpace();
            // a destination image, not its type: the reader compares types by colour-space identity, new per call
            if (cs != srgb && cs.getType() == ColorSpace.TYPE_RGB) {
                param.setDestination(type.createBufferedImage(reader.getWidth(0), reader.getHeight(0)));
                break;
            }
        }
        return param;
    }

    /** Grey or RGB samples of the image's first 1 or 3 bands (alpha dropped), scaled to 8 bits as PIL does. */
    static DecodedImage fromImage(BufferedImage img) {
        int w = img.getWidth(), h = img.getHeight();
        if (img.getColorModel() instanceof IndexColorModel) { // palette: look the colours up, alpha dropped
            int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
            byte[] rgb = new byte[3 * argb.length];
            for (int p = 0; p < argb.length; p++) {
                rgb[3 * p] = (byte) (argb[p] >> 16);
                rgb[3 * p + 1] = (byte) (argb[p] >> 8);
                rgb[3 * p + 2] = (byte) argb[p];
            }
            return new DecodedImage(w, h, 3, rgb);
        }
        int channels = img.getColorModel().getNumColorComponents() == 1 ? 1 : 3;
        Raster raster = img.getRaster();
        return new DecodedImage(w, h, channels, samples(raster, channels, raster.getSampleModel().getSampleSize(0)));
    }

    /**
     * The first {@code bands} bands of the raster as uint8: 16-bit samples keep their high byte (PIL's RGB;16B),
     * 1, 2 and 4-bit ones are scaled to 0..255 (PIL's L;1, L;2, L;4 multiply by 255, 85, 17).
     */
    private static byte[] samples(Raster raster, int bands, int bits) {
        int w = raster.getWidth(), h = raster.getHeight(), max = (1 << bits) - 1;
        int[] row = new int[w * raster.getNumBands()];
        byte[] out = new byte[w * h * bands];
        for (int y = 0, o = 0; y < h; y++) {
            raster.getPixels(raster.getMinX(), raster.getMinY() + y, w, 1, row);
            for (int x = 0; x < w; x++)
                for (int b = 0; b < bands; b++) {
                    int v = row[x * raster.getNumBands() + b];
                    out[o++] = (byte) (bits == 8 ? v : bits > 8 ? v >> (bits - 8) : v * 255 / max);
                }
        }
        return out;
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
