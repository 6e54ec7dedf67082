package dev.jmoco.backend;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Initialises a JNI binding (JOCL's {@code org.jocl.CL}, JCuda's {@code jcuda.driver.JCudaDriver}) so that its
 * bundled native library is unpacked into and loaded from a folder only this process can have written.
 *
 * <p>Why: both bindings unpack their library under a fixed name into {@code java.io.tmpdir} (usually /tmp)
 * and load any file that is already there, so whoever can write /tmp could plant code that every user's jmoco
 * runs. Both read {@code java.io.tmpdir} at load time, so for the one class initialisation that loads the
 * library the property points at a fresh folder: created by {@code mkdir} under a random name (it cannot
 * exist before), owner-only (0700) where the file system has POSIX permissions. The binding writes its
 * library there and loads it; the folder is deleted right after (a loaded library stays mapped). A library
 * that the binding finds first on {@code java.library.path} (system folders, or a path the user set) is
 * still taken from there, as the bindings intend.
 */
public final class NativeBindings {
    private static final String TMPDIR = "java.io.tmpdir";
    private static final Set<String> initialised = new HashSet<>();

    private NativeBindings() {}

    /**
     * Initialises class {@code className} (which loads its native library) once per JVM.
     *
     * @throws LinkageError as the class's initialisation does when its library cannot load (the caller
     *                      reports it); {@link UncheckedIOException} if the private folder cannot be made
     */
    public static synchronized void initialise(String className) {
        if (initialised.contains(className)) return;
        String tmpdir = System.getProperty(TMPDIR);
        Path folder = privateFolder(Path.of(tmpdir));
        try {
            System.setProperty(TMPDIR, folder.toString());
            Class.forName(className, true, NativeBindings.class.getClassLoader());
            initialised.add(className);
        } catch (ClassNotFoundException e) {
            throw new NoClassDefFoundError(className + " is not on the class path");
        } finally {
            System.setProperty(TMPDIR, tmpdir);
            deleteQuietly(folder);
        }
    }

    /** A new owner-only folder under {@code parent}, with a random name. */
    static Path privateFolder(Path parent) {
        try {
            return FileSystems.getDefault().supportedFileAttributeViews().contains("posix")
                    ? Files.createTempDirectory(parent, "jmoco-natives-",
                            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")))
                    : Files.createTempDirectory(parent, "jmoco-natives-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a private folder for native libraries in " + parent
                    + ": " + e.getMessage(), e);
        }
    }

    private static void deleteQuietly(Path folder) {
        try (Stream<Path> all = Files.walk(folder)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException | UncheckedIOException ignored) {
            // an owner-only folder left behind is litter, not a hazard
        }
    }
}
