package dev.jmoco.backend.opencl;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The kernel sources as class-path resources ({@code kernels/} is packaged under {@code dev/jmoco/kernels/}),
 * joined into one OpenCL program text: the header {@code jmoco.h} once, then every {@code *.cl} file with its
 * {@code #include "jmoco.h"} line blanked (OpenCL's run-time compiler has no include path into a jar). A
 * {@code #line} directive before each file keeps build-log line numbers pointing into the right file.
 */
final class ClKernelSources {
    /** Class-path folder of the kernels. */
    static final String FOLDER = "dev/jmoco/kernels/";
    static final String HEADER = "jmoco.h";

    private ClKernelSources() {}

    /** Names of the {@code *.cl} files in {@code folder} (a class-path folder holding {@link #HEADER}), sorted. */
    static List<String> list(String folder) {
        URL header = resource(folder + HEADER);
        try {
            URI uri = header.toURI();
            if (uri.getScheme().equals("jar")) {
                FileSystem fs;
                try {
                    fs = FileSystems.newFileSystem(uri, Map.of());
                } catch (FileSystemAlreadyExistsException e) {
                    fs = FileSystems.getFileSystem(uri);
                }
                return names(fs.getPath(folder));
            }
            return names(Path.of(uri).getParent());
        } catch (URISyntaxException | IOException e) {
            throw new IllegalStateException("cannot list kernel resources next to " + header, e);
        }
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cl")).sorted().toList();
        }
    }

    /**
     * The program text: the header (from {@link #FOLDER}) followed by the files {@code names} of
     * {@code folder}.
     */
    static String program(String folder, List<String> names) {
        StringBuilder sb = new StringBuilder(read(FOLDER + HEADER));
        for (String name : names) {
            sb.append("\n#line 1 \"").append(name).append("\"\n");
            for (String line : read(folder + name).split("\n", -1))
                sb.append(line.strip().equals("#include \"" + HEADER + "\"") ? "" : line).append('\n');
        }
        return sb.toString();
    }

    /** The whole op set: header + every kernel file. */
    static String all() { return program(FOLDER, list(FOLDER)); }

    private static String read(String path) {
        try (InputStream in = resource(path).openStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read kernel resource " + path, e);
        }
    }

    private static URL resource(String path) {
        URL url = ClKernelSources.class.getClassLoader().getResource(path);
        if (url == null) throw new IllegalStateException("kernel resource " + path + " not on the class path");
        return url;
    }
}
