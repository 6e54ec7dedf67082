package dev.jmoco.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * sRGB to Lab against scikit-image's rgb2lab: its primaries (values every colour-science reference gives), and
 * every 4th pixel of the crop fixtures' decoded images (tools/golden/make_lab_fixtures.py), within 2e-3 in L, a
 * and b (float rounding of the double computation, stored as float32: measured 7.6e-6).
 */
class LabColorTest {
    private static final Path DIR = Path.of("src/test/resources/crops");
    private static final double TOLERANCE = 2e-3;

    private static float[] lab(float r, float g, float b) {
        float[] out = new float[3];
        LabColor.fromRgb(new float[] {r, g, b}, 0, 1, out, 0);
        return out;
    }

    @Test
    void primariesWhiteAndGreyAreSkimages() {
        // skimage 0.19's rgb2lab, rounded to 4 places (its matrix and white differ from other references in
        // the 4th digit: blue's L is 32.2970 by Lindbloom's); grey's tiny a and b are skimage's too (its white
        // is rounded to 5 digits, the matrix rows do not sum to it exactly)
        assertLab(new double[] {53.2406, 80.0923, 67.2028}, lab(1, 0, 0), "red");
        assertLab(new double[] {87.7351, -86.1830, 83.1797}, lab(0, 1, 0), "green");
        assertLab(new double[] {32.2957, 79.1856, -107.8573}, lab(0, 0, 1), "blue");
        assertLab(new double[] {100, -0.0025, 0.0047}, lab(1, 1, 1), "white");
        assertLab(new double[] {53.3890, -0.0015, 0.0028}, lab(0.5f, 0.5f, 0.5f), "grey 0.5");
        assertLab(new double[] {0, 0, 0}, lab(0, 0, 0), "black");
    }

    @ParameterizedTest
    @ValueSource(strings = {"photo_320x240_q90.jpg", "portrait_180x240_q75_444.jpg", "small_37x50.png",
            "square_96x96.png", "wide_401x150_progressive.jpg"})
    void realImagesMatchSkimage(String name) throws IOException {
        DecodedImage rgb = ImageFixturesTest.npy(DIR.resolve(name + ".npy"));
        int h = rgb.height(), w = rgb.width(), n = h * w;
        float[] planes = new float[3 * n];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 3; c++) planes[c * n + i] = (rgb.pixels()[i * 3 + c] & 0xFF) / 255f;
        float[] lab = new float[3 * n];
        LabColor.fromRgb(planes, 0, n, lab, 0);
        float[] expected = floats(DIR.resolve(name + ".lab.npy"));
        int sh = (h + 3) / 4, sw = (w + 3) / 4;
        assertEquals(sh * sw * 3, expected.length, name + ": fixture size");
        double worst = 0;
        for (int y = 0; y < sh; y++)
            for (int x = 0; x < sw; x++)
                for (int c = 0; c < 3; c++)
                    worst = Math.max(worst, Math.abs(expected[(y * sw + x) * 3 + c] - lab[c * n + 4 * y * w + 4 * x]));
        System.out.printf("%s: worst |jmoco - skimage| %.2e over %d pixels%n", name, worst, sh * sw);
        assertTrue(worst <= TOLERANCE, name + ": worst difference " + worst);
    }

    private static void assertLab(double[] expected, float[] actual, String what) {
        for (int c = 0; c < 3; c++)
            assertEquals(expected[c], actual[c], 1e-3, what + " channel " + "Lab".charAt(c));
    }

    /** A float32, C-order .npy file's values. */
    private static float[] floats(Path file) throws IOException {
        byte[] b = Files.readAllBytes(file);
        int headerLength = (b[8] & 0xFF) | (b[9] & 0xFF) << 8;
        String header = new String(b, 10, headerLength, StandardCharsets.ISO_8859_1);
        assertTrue(header.contains("'descr': '<f4'") && header.contains("'fortran_order': False"), header);
        Matcher m = Pattern.compile("'shape': \\((\\d+), (\\d+), 3\\)").matcher(header);
        assertTrue(m.find(), header);
        ByteBuffer data = ByteBuffer.wrap(b, 10 + headerLength, b.length - 10 - headerLength).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[data.remaining() / 4];
        data.asFloatBuffer().get(out);
        return out;
    }
}
