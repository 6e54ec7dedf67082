package dev.jmoco.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The folder index lists files without opening them (their contents here are not images at all), in
 * torchvision ImageFolder's order: classes sorted by name, files by name within a class; a split folder when
 * it exists; another split labelled by the training split's classes. The link and special-file rules are
 * ImageFolderReaderTest's, which reads through this index.
 */
class ImageFolderIndexTest {
    private static void touch(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, "not decoded by the index");
    }

    @Test
    void listsClassesAndFilesInImageFolderOrderWithoutReadingThem(@TempDir Path dir) throws IOException {
        for (String f : List.of("train/dog/b.jpg", "train/dog/a.JPEG", "train/cat/z.png", "train/cat/notes.txt",
                "train/ant/1.jpeg", "val/cat/v.png", "val/ant/w.jpg"))
            touch(dir.resolve(f));
        ImageFolderIndex train = ImageFolderIndex.of(dir, "train", List.of());
        assertEquals(dir.getFileName() + "-train", train.name());
        assertEquals(List.of("ant", "cat", "dog"), train.classes());
        assertEquals(List.of("ant/1.jpeg", "cat/z.png", "dog/a.JPEG", "dog/b.jpg"),
                train.files().stream().map(p -> p.getParent().getFileName() + "/" + p.getFileName()).toList());
        assertArrayEquals(new int[]{0, 1, 2, 2}, train.labels());

        ImageFolderIndex val = ImageFolderIndex.of(dir, "val", train.classes());
        assertEquals(List.of("ant", "cat", "dog"), val.classes(), "labelled by the training split's classes");
        assertArrayEquals(new int[]{0, 1}, val.labels());
    }

    @Test
    void aFolderWithoutTheSplitIsItsOwnSplit(@TempDir Path dir) throws IOException {
        touch(dir.resolve("b/x.png"));
        touch(dir.resolve("a/y.png"));
        ImageFolderIndex index = ImageFolderIndex.of(dir, "train", List.of());
        assertEquals(dir.getFileName().toString(), index.name());
        assertEquals(List.of("a", "b"), index.classes());
        assertEquals(2, index.size());
    }

    @Test
    void errorsNameTheFolderAtFault(@TempDir Path dir) throws IOException {
        DatasetFormatException none = assertThrows(DatasetFormatException.class,
                () -> ImageFolderIndex.of(dir, "train", List.of()));
        assertTrue(none.getMessage().contains("no class sub-folders"), none.getMessage());
        touch(dir.resolve("train/cat/notes.txt"));
        DatasetFormatException empty = assertThrows(DatasetFormatException.class,
                () -> ImageFolderIndex.of(dir, "train", List.of()));
        assertTrue(empty.getMessage().contains("no .png, .jpg or .jpeg images"), empty.getMessage());
        touch(dir.resolve("val/bird/x.png"));
        DatasetFormatException stranger = assertThrows(DatasetFormatException.class,
                () -> ImageFolderIndex.of(dir, "val", List.of("cat")));
        assertTrue(stranger.getMessage().contains("class 'bird' is not among the 1 classes"), stranger.getMessage());
        assertTrue(stranger.getMessage().contains("bird"), stranger.getMessage());
    }
}
