package dev.jmoco.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Reads a folder of class sub-folders of PNG/JPEG images: DIR/SPLIT/CLASS/*.png|jpg|jpeg, or DIR/CLASS/* when
 * DIR has no SPLIT folder. Classes are the sub-folder names sorted (or, for a split compared with a training
 * split, that split's classes, matched by name); files are read in name order. Images are decoded by
 * {@link ImageFiles} (as torchvision's PIL loader), converted to 1 (luma 0.299 R + 0.587 G + 0.114 B) or 3
 * channels, and either resized (antialiased bilinear) to size x size, or, with size 0, required to share the first image's size.
 *
 * <p>Symbolic links are followed inside DIR only: a class folder or image that links out of it is refused
 * (a data folder must not make jmoco read, or reveal the size of, files elsewhere), and so is an entry
 * named like an image that is not a regular file (a folder, a FIFO, which would block the reader, a device,
 * a link loop), with a message naming it: nothing is skipped silently.
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
        if (!Files.isDirectory(dir)) throw new DatasetFormatException(dir, "missing folder of class sub-folders");
        Path base = dir.toRealPath();
        Path root = Files.isDirectory(dir.resolve(split)) ? dir.resolve(split) : dir;
        List<Path> classFolders;
        try (Stream<Path> s = Files.list(root)) {
            classFolders = s.filter(Files::isDirectory).sorted().toList();
        }
        if (classFolders.isEmpty())
            throw new DatasetFormatException(root, "no class sub-folders (expected " + root + "/CLASS/*.png|jpg|jpeg)");
        List<String> names = classFolders.stream().map(p -> p.getFileName().toString()).toList();
        List<String> classNames = classes.isEmpty() ? names : classes;
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (int c = 0; c < classFolders.size(); c++) {
            Path folder = classFolders.get(c);
            int label = classNames.indexOf(names.get(c));
            if (label < 0)
                throw new DatasetFormatException(folder, "class '" + names.get(c) + "' is not among the "
                        + classNames.size() + " classes of the training split (" + String.join(", ",
                        classNames.subList(0, Math.min(8, classNames.size())))
                        + (classNames.size() > 8 ? ", ..." : "") + ")");
            inside(base, folder);
            try (Stream<Path> s = Files.list(folder)) {
                for (Path f : s.filter(ImageFolderReader::namedLikeImage).sorted().toList()) {
                    requireImageFile(base, f);
                    files.add(f);
                    labels.add(label);
                }
            }
        }
        if (files.isEmpty()) throw new DatasetFormatException(root, "no .png, .jpg or .jpeg images in its class folders");

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
        int[] labelArray = labels.stream().mapToInt(Integer::intValue).toArray();
        String name = dir.getFileName() + (root.equals(dir) ? "" : "-" + split);
        Dataset data = new Dataset(name, pixels, labelArray, channels, h, w, classNames.size(),
                Normalization.IDENTITY.forChannels(channels), classNames);
        return data.withNormalization(normalization != null ? normalization.forChannels(channels)
                : Normalization.compute(data));
    }

    private static boolean namedLikeImage(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg");
    }

    /** An entry named like an image must be a regular file inside the data folder, after links. */
    private static void requireImageFile(Path base, Path file) throws DatasetFormatException {
        Path real = inside(base, file);
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(real, BasicFileAttributes.class);
        } catch (IOException e) {
            throw new DatasetFormatException(file, "cannot be read: " + e.getMessage(), e);
        }
        if (!a.isRegularFile())
            throw new DatasetFormatException(file, "is named like an image but is "
                    + (a.isDirectory() ? "a folder" : "not a regular file (a FIFO, socket or device)"));
    }

    /** {@code p}'s real path, which must lie inside {@code base} (the data folder's real path). */
    private static Path inside(Path base, Path p) throws DatasetFormatException {
        Path real;
        try {
            real = p.toRealPath();
        } catch (IOException e) {
            throw new DatasetFormatException(p, "is a symbolic link that cannot be followed (a loop or a missing "
                    + "target)", e);
        }
        if (!real.startsWith(base))
            throw new DatasetFormatException(p, "links outside the data folder " + base + " (to " + real
                    + "): refused");
        return real;
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
