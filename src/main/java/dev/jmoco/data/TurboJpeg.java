package dev.jmoco.data;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * JPEG through the system libjpeg-turbo's TurboJPEG C API ({@code libturbojpeg.so.0}, Debian's libturbojpeg0),
 * bound through the foreign function API: the library PIL's JPEG decoder is built on (libjpeg62-turbo, same
 * source), with the same defaults (accurate integer IDCT, fancy upsampling), so its pixels are PIL's. One
 * decompressor per call: TurboJPEG handles are not thread-safe, and making one costs microseconds next to a
 * decode. Grey JPEGs decode to one channel; CMYK and YCCK to CMYK (libjpeg converts YCCK), then to RGB as PIL.
 * A decode that only warns (e.g. extraneous bytes before a marker) is accepted, as PIL accepts it; truncation,
 * which libjpeg too only warns about, is caught before by {@link JpegStructure}.
 */
final class TurboJpeg implements ImageDecoder {
    static final String LIBRARY = "libturbojpeg.so.0";
    // turbojpeg.h (2.x)
    private static final int PF_RGB = 0, PF_GRAY = 6, PF_CMYK = 11, CS_GRAY = 2, CS_CMYK = 3, CS_YCCK = 4;
    private static final int ERR_WARNING = 0, FLAG_LIMIT_SCANS = 32768, MESSAGE_CHARS = 200;

    private final MethodHandle init, header, decompress, errorString, errorCode, destroy;

    private TurboJpeg(SymbolLookup lib) {
        var A = ADDRESS;
        var I = JAVA_INT;
        var L = JAVA_LONG; // unsigned long: 64 bits on the LP64 systems jmoco runs on
        init = function(lib, "tjInitDecompress", FunctionDescriptor.of(A));
        header = function(lib, "tjDecompressHeader3", FunctionDescriptor.of(I, A, A, L, A, A, A, A));
        decompress = function(lib, "tjDecompress2", FunctionDescriptor.of(I, A, A, L, A, I, I, I, I, I));
        errorString = function(lib, "tjGetErrorStr2", FunctionDescriptor.of(A, A));
        errorCode = function(lib, "tjGetErrorCode", FunctionDescriptor.of(I, A));
        destroy = function(lib, "tjDestroy", FunctionDescriptor.of(I, A));
    }

    private static MethodHandle function(SymbolLookup lib, String name, FunctionDescriptor d) {
        MemorySegment fn = lib.find(name).orElseThrow(() -> new IllegalStateException(LIBRARY + " has no " + name));
        return Linker.nativeLinker().downcallHandle(fn, d);
    }

    /**
     * The binding of {@code library}; throws IllegalStateException saying why it cannot be used here (missing,
     * too old to have a symbol, native access denied).
     */
    static TurboJpeg load(String library) {
        try {
            return new TurboJpeg(SymbolLookup.libraryLookup(library, Arena.global()));
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(library + " not found");
        } catch (IllegalCallerException e) {
            throw new IllegalStateException("native access denied (--enable-native-access=ALL-UNNAMED)");
        }
    }

    @Override
    public DecodedImage decode(Path file, byte[] content) throws DatasetFormatException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = (MemorySegment) init.invokeExact();
            if (handle.equals(MemorySegment.NULL)) throw new OutOfMemoryError("tjInitDecompress failed");
            try {
                return decode(file, content, arena, handle);
            } finally {
                int ignored = (int) destroy.invokeExact(handle);
            }
        } catch (DatasetFormatException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("TurboJPEG call failed", t);
        }
    }

    private DecodedImage decode(Path file, byte[] content, Arena arena, MemorySegment handle) throws Throwable {
        MemorySegment src = arena.allocate(content.length);
        MemorySegment.copy(content, 0, src, JAVA_BYTE, 0, content.length);
        MemorySegment w = arena.allocate(JAVA_INT), h = arena.allocate(JAVA_INT), subsampling = arena.allocate(JAVA_INT),
                colorspace = arena.allocate(JAVA_INT);
        int rc = (int) header.invokeExact(handle, src, (long) content.length, w, h, subsampling, colorspace);
        if (rc != 0) throw failure(file, handle, "cannot read JPEG header");
        int width = w.get(JAVA_INT, 0), height = h.get(JAVA_INT, 0), cs = colorspace.get(JAVA_INT, 0);
        ImageFiles.checkSize(file, width, height);
        boolean cmyk = cs == CS_CMYK || cs == CS_YCCK, grey = cs == CS_GRAY;
        int bytes = cmyk ? 4 : grey ? 1 : 3;
        MemorySegment dst = arena.allocate((long) width * height * bytes);
        rc = (int) decompress.invokeExact(handle, src, (long) content.length, dst, width, 0, height,
                cmyk ? PF_CMYK : grey ? PF_GRAY : PF_RGB, FLAG_LIMIT_SCANS);
        if (rc != 0 && (int) errorCode.invokeExact(handle) != ERR_WARNING)
            throw failure(file, handle, "cannot decode JPEG");
        byte[] pixels = dst.toArray(JAVA_BYTE);
        return cmyk ? DecodedImage.fromInvertedCmyk(width, height, pixels) : new DecodedImage(width, height, bytes, pixels);
    }

    private DatasetFormatException failure(Path file, MemorySegment handle, String what) throws Throwable {
        String m = ((MemorySegment) errorString.invokeExact(handle)).reinterpret(MESSAGE_CHARS).getString(0)
                .replaceAll("\\s+", " ").strip();
        return new DatasetFormatException(file, what + ": " + m + " (libjpeg-turbo)");
    }
}
