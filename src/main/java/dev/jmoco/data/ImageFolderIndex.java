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
 * The image files of a folder of class sub-folders, listed without reading them: DIR/SPLIT/CLASS/*.png|jpg|jpeg,
 * or DIR/CLASS/* when DIR has no SPLIT folder; the split "test" is DIR/val when DIR/test is missing (ImageNet's
 * layout: train/ and val/). As torchvision's ImageFolder: classes are the sub-folder names
 * sorted (or, for a split compared with a training split, that split's classes, matched by name), files in
 * name order within each class. Memory is a path and a label per file, whatever the images' sizes.
 *
 * <p>Symbolic links are followed inside DIR only: a class folder or image that links out of it is refused
 * (a data folder must not make jmoco read, or reveal the size of, files elsewhere), and so is an entry
 * named like an image that is not a regular file (a folder, a FIFO, which would block the reader, a device,
 * a link loop), with a message naming it: nothing is skipped silently.
 *
 * @param name    the data set's name: DIR's, with "-" and the split folder's name when it exists
 * @param classes class names; label i is classes[i]
 * @param files   the image files, class by class
 * @param labels  each file's label
 */
public record ImageFolderIndex(String name, List<String> classes, List<Path> files, int[] labels) {

    public ImageFolderIndex {
        classes = List.copyOf(classes);
        files = List.copyOf(files);
        if (labels.length != files.size())
            throw new IllegalArgumentException(labels.length + " labels for " + files.size() + " files");
    }

    /** Files in the folder. */
    public int size() { return files.size(); }

    /**
     * Lists DIR's split {@code split} (see the class comment), labelled by {@code classes} (the training
     * split's names; empty: this split's own sorted class folders).
     *
     * @throws DatasetFormatException naming the folder or file at fault: no class folders, no images, a class
     *                                not among {@code classes}, an entry that links out of DIR or is not a file
     */
    public static ImageFolderIndex of(Path dir, String split, List<String> classes) throws IOException {
        if (!Files.isDirectory(dir)) throw new DatasetFormatException(dir, "missing folder of class sub-folders");
        Path base = dir.toRealPath();
        Path root = Files.isDirectory(dir.resolve(split)) ? dir.resolve(split)
                : split.equals("test") && Files.isDirectory(dir.resolve("val")) ? dir.resolve("val") : dir;
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
                for (Path f : s.filter(ImageFolderIndex::namedLikeImage).sorted().toList()) {
                    requireImageFile(base, f);
                    files.add(f);
                    labels.add(label);
                }
            }
        }
        if (files.isEmpty()) throw new DatasetFormatException(root, "no .png, .jpg or .jpeg images in its class folders");
        String name = dir.getFileName() + (root.equals(dir) ? "" : "-" + root.getFileName());
        return new ImageFolderIndex(name, classNames, files, labels.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * The images to embed or list, all of label 0 (class "images"): a folder's image files at any depth, in path
     * order (links followed inside it only, as for a data folder); one image file; or a list, a text file of
     * one path per line (relative to the list's folder; blank lines and lines starting with # skipped).
     *
     * @throws DatasetFormatException naming the folder, or the list and the line, at fault
     */
    public static ImageFolderIndex ofImages(Path input) throws IOException {
        List<Path> files = new ArrayList<>();
        if (Files.isDirectory(input)) {
            Path base = input.toRealPath();
            try (Stream<Path> s = Files.walk(input)) {
                for (Path f : s.filter(p -> !p.equals(input) && namedLikeImage(p)).sorted().toList()) {
                    requireImageFile(base, f);
                    files.add(f);
                }
            }
            if (files.isEmpty()) throw new DatasetFormatException(input, "no .png, .jpg or .jpeg images in it");
        } else if (namedLikeImage(input)) {
            files.add(input);
        } else {
            if (!Files.isRegularFile(input))
                throw new DatasetFormatException(input, "is neither a folder of images, an image nor a list of them");
            List<String> lines = Files.readAllLines(input);
            Path folder = input.toAbsolutePath().getParent();
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i).strip();
                if (line.isEmpty() || line.startsWith("#")) continue;
                Path f = folder.resolve(line);
                if (!namedLikeImage(f) || !Files.isRegularFile(f))
                    throw new DatasetFormatException(input, "line " + (i + 1) + ": " + f + (namedLikeImage(f)
                            ? " is not a readable file" : " is not named .png, .jpg or .jpeg"));
                files.add(f);
            }
            if (files.isEmpty()) throw new DatasetFormatException(input, "lists no images");
        }
        return new ImageFolderIndex(input.getFileName().toString(), List.of("images"), files, new int[files.size()]);
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
}
