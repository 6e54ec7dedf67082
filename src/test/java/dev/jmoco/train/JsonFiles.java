package dev.jmoco.train;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Parses the JSON files a run writes with the project's own reader (dev.jmoco.io.Json, package-private, so
 * reached by reflection): an independent check that {@link JsonText}'s output is valid JSON.
 */
public final class JsonFiles {
    private JsonFiles() {}

    /** The top-level object of {@code file}. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parse(Path file) throws IOException {
        try {
            Method parse = Class.forName("dev.jmoco.io.Json").getDeclaredMethod("parse", String.class);
            parse.setAccessible(true);
            return (Map<String, Object>) parse.invoke(null, Files.readString(file));
        } catch (InvocationTargetException e) {
            throw new AssertionError(file + " is not valid JSON: " + e.getCause().getMessage(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("dev.jmoco.io.Json.parse(String) is not reachable", e);
        }
    }
}
