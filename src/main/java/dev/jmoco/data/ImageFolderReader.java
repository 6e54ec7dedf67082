package dev.jmoco.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Opens a folder of class sub-folders of PNG/JPEG images as a {@link Dataset} whose images stay in their files
 * ({@link Dataset#ofFiles}): {@link ImageFolderIndex} lists them, with its rules for class order, links and
 * special files, and the loader's threads decode each image (as torchvision's PIL loader, see
 * {@link ImageFiles}) when its batch is prepared, converted to 1 (luma 0.299 R + 0.587 G + 0.114 B) or 3
 * channels. With a size, images of any size are cropped and resized to size x size; with size 0 they must
 * share the first image's size. Without a given normalisation, the statistics of a sample of the images.
 */
public final class ImageFolderReader {
    private ImageFolderReader() {}

    /**
     * @param channels 1 or 3
     * @param size     side of the views (training crops, evaluation centre crops), or 0 to keep the images'
     *                 own (common) size
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
        Dataset data = Dataset.ofFiles(index.name(), index.files(), index.labels(), channels, size,
                index.classes().size(), Normalization.IDENTITY.forChannels(channels), index.classes());
        return data.withNormalization(normalization != null ? normalization.forChannels(channels)
                : Normalization.compute(data));
    }
}
