package dev.jmoco.train;

import dev.jmoco.io.AtomicFiles;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A run's output folder, claimed for the life of one trainer: an exclusive lock on {@value #LOCK} (an OS file
 * lock: released by the kernel when the process ends, however it ends, so a crash never leaves the folder
 * locked) refuses a second trainer or resume of the same folder; a new run refuses a folder that holds files
 * jmoco does not write there, unless told to overwrite; temporary files left by interrupted atomic writes
 * ({@link AtomicFiles}) are swept once the lock is held, since no one else can be writing them then.
 */
final class RunFolder implements AutoCloseable {
    static final String LOCK = ".jmoco.lock";
    /** What a run writes into its folder (and the evaluations beside the checkpoint). */
    private static final Set<String> OWN_FILES = Set.of(LOCK, Checkpoint.FILE, Checkpoint.JSON, MetricsLog.FILE,
            RunOutputs.SUMMARY, CurvePlot.FILE);

    private final Path dir;
    private final FileChannel channel;
    private final FileLock lock;

    private RunFolder(Path dir, FileChannel channel, FileLock lock) {
        this.dir = dir;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Creates {@code dir} if needed and locks it; for a new run ({@code fresh}) also checks its contents.
     *
     * @param overwrite a new run may replace jmoco's files in a folder that holds others (theirs are kept)
     * @throws IllegalStateException    if another run holds the folder (naming the holder)
     * @throws IllegalArgumentException if {@code dir} is a file, or (new run) holds files jmoco did not write
     */
    static RunFolder claim(Path dir, boolean fresh, boolean overwrite) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir))
            throw new IllegalArgumentException("output folder " + dir + " is a file, not a folder");
        Files.createDirectories(dir);
        Path file = dir.resolve(LOCK);
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException sameJvm) {
            lock = null;
        }
        if (lock == null) {
            String holder = holder(channel);
            channel.close();
            throw new IllegalStateException(dir + " is in use by another jmoco run (" + holder + "); wait for it to "
                    + "end or choose another output folder");
        }
        RunFolder folder = new RunFolder(dir, channel, lock);
        try {
            folder.writeHolder();
            if (fresh && !overwrite) folder.requireOnlyOwnFiles();
            folder.sweepTemporaryFiles();
        } catch (IOException | RuntimeException e) {
            folder.close();
            throw e;
        }
        return folder;
    }

    Path dir() { return dir; }

    /** Who holds the lock: the pid, host and start time it wrote, or that it wrote nothing readable. */
    private static String holder(FileChannel channel) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(256);
        channel.read(b, 0);
        String text = new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip();
        return text.isEmpty() ? "holder unknown" : text;
    }

    private void writeHolder() throws IOException {
        String text = "pid " + ProcessHandle.current().pid() + " on " + host() + ", since " + Instant.now() + "\n";
        channel.truncate(0);
        channel.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), 0);
        channel.force(false);
    }

    private static String host() {
        String name = ManagementFactory.getRuntimeMXBean().getName(); // pid@host
        int at = name.indexOf('@');
        return at >= 0 ? name.substring(at + 1) : "this machine";
    }

    private void requireOnlyOwnFiles() throws IOException {
        List<String> foreign;
        try (Stream<Path> s = Files.list(dir)) {
            foreign = s.map(p -> p.getFileName().toString())
                    .filter(n -> !isOwn(n)).sorted().toList();
        }
        if (!foreign.isEmpty())
            throw new IllegalArgumentException("output folder " + dir + " holds files jmoco did not write ("
                    + String.join(", ", foreign.subList(0, Math.min(5, foreign.size())))
                    + (foreign.size() > 5 ? ", ... " + foreign.size() + " in all" : "") + "): choose a new or empty "
                    + "folder, or pass --overwrite to write jmoco's files there anyway (yours are kept)");
    }

    /** Whether jmoco writes a file of this name into a run folder (evaluation results beside the checkpoint too). */
    static boolean isOwn(String name) {
        return OWN_FILES.contains(name) || AtomicFiles.isTemporary(name)
                || name.startsWith("checkpoint.eval-") && name.endsWith(".json");
    }

    /** Deletes what interrupted atomic writes left (they are never the live file). */
    private void sweepTemporaryFiles() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(p -> AtomicFiles.isTemporary(p.getFileName().toString())).toList())
                Files.deleteIfExists(p);
        }
    }

    /** Releases the lock (the lock file stays: deleting it would race with a trainer that just opened it). */
    @Override
    public void close() throws IOException {
        try {
            if (lock.isValid()) lock.release();
        } finally {
            channel.close();
        }
    }
}
