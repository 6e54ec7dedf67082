package dev.jmoco.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A data set file that is missing, truncated or not in the expected format. The message always starts with
 * the file, then says what is wrong, so a user can fix the right file.
 */
public final class DatasetFormatException extends IOException {
    private static final long serialVersionUID = 1L;
    private final transient Path file;

    public DatasetFormatException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public DatasetFormatException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    /** The offending file (or folder, when a file is missing from it). */
    public Path file() {
        return file;
    }
}
