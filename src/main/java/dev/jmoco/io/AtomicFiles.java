package dev.jmoco.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * Replaces a file atomically: the content goes to a temporary file in the same folder, is forced to disk and
 * renamed over the target, so readers (and a crash) see the old file or the new one, never half of one. The
 * temporary file gets the process's default permissions (unlike Files.createTempFile's owner-only ones).
 * Checkpoints, their JSON, metrics and plots are all written through here.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    private static final Pattern TEMPORARY = Pattern.compile("\\..+\\.[0-9a-f]{1,16}\\.tmp");

    /**
     * Writes what {@code body} writes to the stream as {@code file}'s new content.
     *
     * @throws NoSuchFileException naming {@code file} and its folder when the folder does not exist
     */
    public static void write(Path file, Body body) throws IOException {
        Path folder = file.toAbsolutePath().getParent();
        if (folder != null && !Files.isDirectory(folder))
            throw new NoSuchFileException(file.toString(), null, "cannot write it: folder " + folder
                    + (Files.exists(folder) ? " is not a folder" : " does not exist"));
        Path tmp = file.resolveSibling("." + file.getFileName() + "."
                + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        try {
            try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                OutputStream out = Channels.newOutputStream(channel);
                body.writeTo(out);
                out.flush();
                channel.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Whether {@code fileName} is the temporary file of a write that never finished (a crash between creating
     * and renaming it): {@code .NAME.HEX.tmp}.
     */
    public static boolean isTemporary(String fileName) { return TEMPORARY.matcher(fileName).matches(); }

    /** The content of a file, written to a stream. */
    @FunctionalInterface
    public interface Body {
        void writeTo(OutputStream out) throws IOException;
    }
}
