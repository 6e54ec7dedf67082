package dev.jmoco.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;

/**
 * File helpers shared by the readers: finding one of several names, gzip detection, exact reads. Every failure
 * to read, a corrupt gzip stream included, is a {@link DatasetFormatException} of one line naming the file.
 */
final class DataFiles {
    private static final int BUFFER = 1 << 16;
    /** The most bytes one array may hold (a little under Integer.MAX_VALUE, as the JDK's own collections). */
    static final int MAX_ARRAY_BYTES = Integer.MAX_VALUE - 8;
    /**
     * Bytes allocated at first by {@link #readBytes}; the buffer then doubles as data arrives, so a header
     * that claims more than a compressed stream holds costs at most twice what the stream really holds.
     */
    private static final int FIRST_CHUNK = 1 << 20;
    /**
     * Unexpected trailing bytes counted at most: a gzip stream can inflate a thousandfold, so it is not
     * inflated to its end only to say how much too long it is.
     */
    private static final int MAX_TRAILING_COUNT = 1 << 20;

    private DataFiles() {}

    /** The first of {@code names} that exists in {@code dir}; else an error listing all expected names. */
    static Path find(Path dir, String... names) throws DatasetFormatException {
        for (String name : names) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) return p;
        }
        throw new DatasetFormatException(dir, "missing file: expected one of " + Arrays.toString(names)
                + (Files.isDirectory(dir) ? "" : " (the folder does not exist)"));
    }

    /** A buffered stream of the file's content, gunzipped when the file starts with the gzip magic 1f 8b. */
    static InputStream open(Path file) throws IOException {
        InputStream in;
        try {
            in = new BufferedInputStream(Files.newInputStream(file), BUFFER);
        } catch (NoSuchFileException e) {
            throw new DatasetFormatException(file, "missing file", e);
        }
        in.mark(2);
        int b0 = in.read(), b1 = in.read();
        in.reset();
        if (b0 == 0x1f && b1 == 0x8b) {
            try {
                return new BufferedInputStream(new GZIPInputStream(in, BUFFER), BUFFER);
            } catch (IOException e) {
                in.close();
                throw new DatasetFormatException(file, "corrupt gzip data: " + describe(e), e);
            }
        }
        return in;
    }

    /** True when the file is read as gzip by {@link #open}: its length then says nothing about its content. */
    private static boolean isGzip(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return in.read() == 0x1f && in.read() == 0x8b;
        }
    }

    /**
     * The {@code len} bytes that follow a header of {@code offset} bytes, as {@link #open} gives them: for a
     * plain file its length is checked first, so a lying header fails before anything is allocated; for gzip,
     * whose content length is unknown until the end, the buffer grows as data arrives ({@link #readBytes}).
     */
    static byte[] readDeclared(InputStream in, Path file, long offset, int len, String what) throws IOException {
        if (isGzip(file)) return readBytes(in, len, file, what);
        checkLength(file, offset, len, what);
        byte[] out = new byte[len];
        readFully(in, out, 0, len, file, what);
        return out;
    }

    /**
     * Fails before anything is allocated when a plain file is too short for what its header declares (or
     * longer): {@code offset} header bytes then {@code needed} data bytes.
     */
    private static void checkLength(Path file, long offset, long needed, String what) throws IOException {
        long size = Files.size(file);
        if (size - offset < needed)
            throw new DatasetFormatException(file, "truncated: " + what + " needs " + needed + " bytes, only "
                    + Math.max(0, size - offset) + " left");
        if (size - offset > needed)
            throw new DatasetFormatException(file, (size - offset - needed) + " unexpected bytes after the declared data");
    }

    /**
     * Reads exactly {@code len} bytes into a new array that grows as the data arrives (from
     * {@value #FIRST_CHUNK} bytes, doubling), so a lying length fails as truncated without allocating it.
     */
    private static byte[] readBytes(InputStream in, int len, Path file, String what) throws IOException {
        byte[] buf = new byte[Math.min(len, FIRST_CHUNK)];
        int done = 0;
        while (true) {
            done += readUpTo(in, buf, done, buf.length - done, file, what);
            if (done < buf.length) break;                        // the stream ended
            if (done == len) return buf;
            buf = Arrays.copyOf(buf, (int) Math.min(len, 2L * buf.length));
        }
        throw truncated(file, what, len, done);
    }

    /** Reads exactly {@code len} bytes or fails naming the file, what was being read and how much was there. */
    static void readFully(InputStream in, byte[] dst, int off, int len, Path file, String what) throws IOException {
        int done = readUpTo(in, dst, off, len, file, what);
        if (done < len) throw truncated(file, what, len, done);
    }

    /** Reads until {@code len} bytes are there or the stream ends; returns how many were read. */
    private static int readUpTo(InputStream in, byte[] dst, int off, int len, Path file, String what)
            throws IOException {
        int done = 0;
        try {
            while (done < len) {
                int n = in.read(dst, off + done, len - done);
                if (n < 0) break;
                done += n;
            }
        } catch (IOException e) {
            throw new DatasetFormatException(file, "corrupt or truncated data while reading " + what + ": "
                    + describe(e), e);
        }
        return done;
    }

    private static DatasetFormatException truncated(Path file, String what, long len, long done) {
        return new DatasetFormatException(file, "truncated: " + what + " needs " + len + " bytes, only " + done + " left");
    }

    /** An exception's message on one line (the JDK's gzip and zlib messages are short, but be sure). */
    static String describe(Exception e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) return e.getClass().getSimpleName();
        return m.replaceAll("\\R", " ");
    }

    /** Fails when the stream holds more bytes (a file of another layout would otherwise pass silently). */
    static void expectEnd(InputStream in, Path file) throws IOException {
        long extra = 0;
        try {
            while (extra < MAX_TRAILING_COUNT) {
                long n = in.skip(MAX_TRAILING_COUNT - extra);
                if (n > 0) extra += n;
                else if (in.read() >= 0) extra++; // skip may return 0 before the end of a compressed stream
                else break;
            }
        } catch (IOException e) {
            throw new DatasetFormatException(file, "corrupt or truncated data at the end: " + describe(e), e);
        }
        if (extra > 0)
            throw new DatasetFormatException(file, (extra < MAX_TRAILING_COUNT ? "" : "at least ") + extra
                    + " unexpected bytes after the declared data");
    }
}
