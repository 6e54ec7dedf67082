package dev.jmoco.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads a folder of class sub-folders of PNG/JPEG images into memory ({@link ImageFolderIndex} lists them, with
 * its rules for class order, links and special files). Images are decoded by {@link ImageFiles} (as
 * torchvision's PIL loader), converted to 1 (luma 0.299 R + 0.587 G + 0.114 B) or 3 channels, and either
 * resized (antialiased bilinear) to size x size, or, with size 0, required to share the first image's size.
 */
public final class ImageFolderReader {
    private ImageFolderReader() {}

    /**
     * @param channels 1 or 3
     * @param size     side of the square images produced, or 0 to keep the images' own (common) size
     */
    public static Dataset read(Path dir, String split, int channels, int size, Normalization normalization)
            throws IOException {
        return read(dir, split, channels, size, normalization, List.of());
    }

    /**
     * As {@link #read(Path, String, int, int, Normalization)}, with the class indices of {@code classes} (the
     * training split's names; empty: this split's own sorted class folders).
     *
     * @throws DatasetFormatException naming a class folder that is not among {@code classes}
     */
    public static Dataset read(Path dir, String split, int channels, int size, Normalization normalization,
                               List<String> classes) throws IOException {
        if (channels != 1 && channels != 3) throw new IllegalArgumentException("channels must be 1 or 3: " + channels);
        if (size < 0) throw new IllegalArgumentException("size must be >= 0: " + size);
        ImageFolderIndex index = ImageFolderIndex.of(dir, split, classes);
        List<Path> files = index.files();
        int h = size, w = size;
        byte[] pixels = null;
        for (int i = 0; i < files.size(); i++) {
            Path file = files.get(i);
            DecodedImage img = ImageFiles.decode(file);
            if (pixels == null) {
                if (size == 0) { h = img.height(); w = img.width(); }
                pixels = new byte[Math.multiplyExact(files.size(), channels * h * w)];
            }
            if (size == 0 && (img.height() != h || img.width() != w))
                throw new DatasetFormatException(file, "size " + img.width() + "x" + img.height() + " differs from "
                        + w + "x" + h + " of " + files.getFirst().getFileName() + " (give a size to resize)");
            byte[] chw = img.planes(channels);
            int off = i * channels * h * w;
            if (img.height() == h && img.width() == w) System.arraycopy(chw, 0, pixels, off, chw.length);
            else resize(chw, channels, img.height(), img.width(), h, w, pixels, off);
        }
        Dataset data = new Dataset(index.name(), pixels, index.labels(), channels, h, w, index.classes().size(),
                Normalization.IDENTITY.forChannels(channels), index.classes());
        return data.withNormalization(normalization != null ? normalization.forChannels(channels)
                : Normalization.compute(data));
    }

    /** Resizes a uint8 CHW image to outH x outW (antialiased bilinear) and rounds back to uint8. */
    private static void resize(byte[] src, int channels, int h, int w, int outH, int outW, byte[] dst, int off) {
        ResizeAxis rows = new ResizeAxis(), cols = new ResizeAxis();
        rows.configure(0, h, outH, false, 1);
        cols.configure(0, w, outW, false, 1);
        float[] tmp = new float[channels * h * outW];
        float[] out = new float[channels * outH * outW];
        ResizeAxis.resize(src, 0, channels, h, w, rows, cols, tmp, out, 0);
        for (int i = 0; i < out.length; i++) dst[off + i] = (byte) Math.max(0, Math.min(255, Math.round(out[i])));
    }
}
