package dev.jmoco.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/** File helpers shared by the readers: finding one of several names, gzip detection, exact reads. */
final class DataFiles {
    private static final int BUFFER = 1 << 16;

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
            } catch (ZipException e) {
                in.close();
                throw new DatasetFormatException(file, "corrupt gzip data: " + e.getMessage(), e);
            }
        }
        return in;
    }

    /** Reads exactly {@code len} bytes or fails naming the file, what was being read and how much was there. */
    static void readFully(InputStream in, byte[] dst, int off, int len, Path file, String what) throws IOException {
        int done = 0;
        try {
            while (done < len) {
                int n = in.read(dst, off + done, len - done);
                if (n < 0) break;
                done += n;
            }
        } catch (EOFException | ZipException e) {
            throw new DatasetFormatException(file, "corrupt or truncated data while reading " + what + ": " + e.getMessage(), e);
        }
        if (done < len)
            throw new DatasetFormatException(file, "truncated: " + what + " needs " + len + " bytes, only " + done
                    + " left");
    }

    /** Fails when the stream holds more bytes (a file of another layout would otherwise pass silently). */
    static void expectEnd(InputStream in, Path file) throws IOException {
        long extra;
        try {
            extra = in.skip(Long.MAX_VALUE);
            while (in.read() >= 0) extra++; // skip may stop early on compressed streams
        } catch (EOFException | ZipException e) {
            throw new DatasetFormatException(file, "corrupt or truncated data at the end: " + e.getMessage(), e);
        }
        if (extra > 0) throw new DatasetFormatException(file, extra + " unexpected bytes after the declared data");
    }
}
