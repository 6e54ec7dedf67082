package dev.jmoco.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.ThrowingConsumer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Decoding real files from real encoders (PIL and libjpeg-turbo's cjpeg; tools/golden/make_image_fixtures.py
 * wrote them into src/test/resources/images) against PIL's decode of each, torchvision's
 * {@code Image.open(f).convert('RGB')}, saved beside it as NAME.npy. Both JPEG decoders are run on every
 * JPEG: libjpeg-turbo must give PIL's pixels exactly (the same library and IDCT); so must javax.imageio (its
 * own libjpeg 6b, same IDCT and upsampling) except for 4:4:0 chroma subsampling, which libjpeg-turbo since 2.0
 * upsamples smoothly and 6b by repeating rows: measured up to {@value #IMAGEIO_440_LEVELS} levels off at an
 * edge. PNGs decode exactly. Files PIL
 * refuses (truncated, corrupt) fail fast with one line naming them. Where libturbojpeg.so.0 is missing its
 * cases skip saying why, and fail when {@code JMOCO_REQUIRE_TURBOJPEG=1} (CI sets it).
 */
class ImageFixturesTest {
    /** The largest difference measured between javax.imageio's and PIL's decode of the 4:4:0 JPEG fixture. */
    static final int IMAGEIO_440_LEVELS = 52;
    static final String REQUIRE = "JMOCO_REQUIRE_TURBOJPEG";
    private static final Path DIR = resources();

    record Fixture(String file, String reference, String what) {
        Path path() { return DIR.resolve(file); }
        boolean jpeg() { return file.endsWith(".jpg"); }
        @Override public String toString() { return file + " (" + what + ")"; }
    }

    private static Path resources() {
        try {
            return Path.of(ImageFixturesTest.class.getResource("/images/manifest.tsv").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<Fixture> fixtures() {
        try {
            return Files.readAllLines(DIR.resolve("manifest.tsv")).stream().filter(l -> !l.startsWith("#"))
                    .map(l -> l.split("\t")).map(f -> new Fixture(f[0], f[1], f[2])).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Stream<Fixture> decodable() { return fixtures().stream().filter(f -> !f.reference().equals("fails")); }

    static Stream<Fixture> broken() { return fixtures().stream().filter(f -> f.reference().equals("fails")); }

    private static ImageDecoder turboJpeg() {
        try {
            return TurboJpeg.load(TurboJpeg.LIBRARY);
        } catch (IllegalStateException e) {
            if ("1".equals(System.getenv(REQUIRE))) fail("libjpeg-turbo not loaded (" + e.getMessage() + "), and "
                    + REQUIRE + "=1");
            // Skipped only on a developer machine without libturbojpeg0 (the ImageIO path is still tested there);
            // CI installs it and sets JMOCO_REQUIRE_TURBOJPEG=1, so there a missing library fails above.
            return abort("libjpeg-turbo not loaded: " + e.getMessage());
        }
    }

    /** A uint8 H x W x 3 .npy file (numpy's format 1.0: magic, header length, a dict, the raw bytes). */
    static DecodedImage npy(Path file) throws IOException {
        byte[] b = Files.readAllBytes(file);
        assertEquals("\u0093NUMPY", new String(b, 0, 6, StandardCharsets.ISO_8859_1), file + ": magic");
        int headerLength = (b[8] & 0xFF) | (b[9] & 0xFF) << 8;
        String header = new String(b, 10, headerLength, StandardCharsets.ISO_8859_1);
        assertTrue(header.contains("'descr': '|u1'") && header.contains("'fortran_order': False"), header);
        Matcher m = Pattern.compile("'shape': \\((\\d+), (\\d+), 3\\)").matcher(header);
        assertTrue(m.find(), header);
        int h = Integer.parseInt(m.group(1)), w = Integer.parseInt(m.group(2));
        byte[] pixels = java.util.Arrays.copyOfRange(b, 10 + headerLength, b.length);
        return new DecodedImage(w, h, 3, pixels);
    }

    /** The largest difference of any sample, grey compared as PIL's convert('RGB') repeats it. */
    static int maxDifference(Fixture f, DecodedImage expected, DecodedImage actual) {
        assertEquals(expected.width() + "x" + expected.height(), actual.width() + "x" + actual.height(), f + ": size");
        int max = 0, c = actual.channels();
        for (int i = 0; i < expected.pixels().length; i++) {
            int a = actual.pixels()[i / 3 * c + (c == 3 ? i % 3 : 0)] & 0xFF;
            max = Math.max(max, Math.abs(a - (expected.pixels()[i] & 0xFF)));
        }
        return max;
    }

    @ParameterizedTest @MethodSource("decodable")
    void libjpegTurboGivesPilsPixelsExactly(Fixture f) throws IOException {
        if (!f.jpeg()) return;
        assertEquals(0, maxDifference(f, npy(DIR.resolve(f.reference())), ImageFiles.decode(f.path(), turboJpeg())),
                f.toString());
    }

    @ParameterizedTest @MethodSource("decodable")
    void imageIoIsWithinItsToleranceOfPil(Fixture f) throws IOException {
        int d = maxDifference(f, npy(DIR.resolve(f.reference())), ImageFiles.decode(f.path(), ImageIoDecoder.INSTANCE));
        assertTrue(d <= (f.file().contains("_440_") ? IMAGEIO_440_LEVELS : 0), f + ": javax.imageio is " + d
                + " levels off PIL");
    }

    /** {@code check} on javax.imageio, then on libjpeg-turbo (skipped or failed as the class comment says). */
    private static void bothDecoders(ThrowingConsumer<ImageDecoder> check) throws Throwable {
        check.accept(ImageIoDecoder.INSTANCE);
        check.accept(turboJpeg());
    }

    @ParameterizedTest @MethodSource("broken")
    void brokenFilesFailFastNamingTheFile(Fixture f) throws Throwable {
        bothDecoders(jpeg -> { // a PNG goes to javax.imageio whichever decoder JPEGs get
            var e = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThrows(DatasetFormatException.class,
                    () -> ImageFiles.decode(f.path(), jpeg)), f.toString());
            String m = e.getMessage();
            assertTrue(m.startsWith(f.path() + ": "), "names the file: " + m);
            assertFalse(m.contains("\n") || m.contains("\r"), "one line: " + m);
            assertEquals(f.path(), e.file());
        });
    }

    @Test void greyJpegsDecodeToOneChannelAndCmykToRgb() throws Throwable {
        bothDecoders(jpeg -> {
            assertEquals(1, ImageFiles.decode(DIR.resolve("pil_grey_q95.jpg"), jpeg).channels());
            assertEquals(1, ImageFiles.decode(DIR.resolve("cjpeg_grey.jpg"), jpeg).channels());
            assertEquals(3, ImageFiles.decode(DIR.resolve("pil_cmyk_q95.jpg"), jpeg).channels());
        });
    }

    /** The file carries EXIF orientation 6 (displayed rotated 90 degrees): PIL's loader ignores it, so does jmoco. */
    @Test void exifOrientationIsNotApplied() throws Throwable {
        Path file = DIR.resolve("pil_exif_orientation6.jpg");
        String hex = HexFormat.of().formatHex(Files.readAllBytes(file));
        assertTrue(hex.contains(HexFormat.of().formatHex("Exif\0\0".getBytes(StandardCharsets.US_ASCII))), "an EXIF segment");
        // the orientation entry of IFD0: tag 0x0112, type SHORT (3), count 1, value 6, in either byte order
        assertTrue(hex.contains("011200030000000100060000") || hex.contains("120103000100000006000000"), "orientation 6");
        bothDecoders(jpeg -> {
            DecodedImage img = ImageFiles.decode(file, jpeg);
            assertEquals(48, img.width(), "stored width, not rotated");
            assertEquals(32, img.height());
        }); // and the pixels are PIL's, unrotated: the .npy comparisons above
    }

    @Test void theFallbackIsSaidOnceOnStderrAndCanBeForced() {
        var err = new ByteArrayOutputStream();
        var out = new PrintStream(err, true, StandardCharsets.UTF_8);
        assertSame(ImageIoDecoder.INSTANCE, ImageFiles.jpegDecoder("auto", "libturbojpeg-missing.so.9", out));
        String said = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, said.lines().count(), said);
        assertTrue(said.startsWith("jmoco: data: libjpeg-turbo not used: libturbojpeg-missing.so.9 not found"), said);
        assertTrue(said.contains("libturbojpeg0"), said);
        err.reset();
        assertSame(ImageIoDecoder.INSTANCE, ImageFiles.jpegDecoder("imageio", TurboJpeg.LIBRARY, out));
        assertEquals("", err.toString(StandardCharsets.UTF_8), "forced: nothing to say");
        assertThrows(IllegalArgumentException.class, () -> ImageFiles.jpegDecoder("pil", TurboJpeg.LIBRARY, out));
        turboJpeg();
        assertInstanceOf(TurboJpeg.class, ImageFiles.jpegDecoder("auto", TurboJpeg.LIBRARY, out));
        assertInstanceOf(TurboJpeg.class, ImageFiles.jpegDecoder()); // this JVM's: no jmoco.data.jpeg set
        assertEquals("", err.toString(StandardCharsets.UTF_8));
    }

    /** One decompressor per call: threads decoding at once (as the loader's do) get the same pixels. */
    @Test void decodesOnManyThreadsAtOnce() throws Exception {
        ImageDecoder jpeg = turboJpeg();
        Path file = DIR.resolve("pil_420_q95_progressive.jpg");
        byte[] expected = ImageFiles.decode(file, jpeg).pixels();
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(8)) {
            var results = pool.invokeAll(java.util.Collections.nCopies(64,
                    (java.util.concurrent.Callable<byte[]>) () -> ImageFiles.decode(file, jpeg).pixels()));
            for (var r : results) org.junit.jupiter.api.Assertions.assertArrayEquals(expected, r.get());
        }
    }
}
