package dev.jmoco.train;

import dev.jmoco.io.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Parses the JSON files a run writes with the project's own reader ({@link Json}): an independent check that
 * {@link JsonText}'s output is valid JSON.
 */
public final class JsonFiles {
    private JsonFiles() {}

    /** The top-level object of {@code file}. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parse(Path file) throws IOException {
        try {
            return (Map<String, Object>) Json.parse(Files.readString(file));
        } catch (IllegalArgumentException e) {
            throw new AssertionError(file + " is not valid JSON: " + e.getMessage(), e);
        }
    }
}
