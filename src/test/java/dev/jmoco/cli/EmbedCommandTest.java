package dev.jmoco.cli;

import dev.jmoco.io.Safetensors;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code jmoco embed} on a checkpoint trained for one epoch, and on the same encoder as a plain state dict. */
class EmbedCommandTest {
    static final int N = 5;
    @TempDir static Path dir;
    static Path checkpoint, input;

    @BeforeAll
    static void prepare() throws IOException {
        checkpoint = TinyCheckpoint.train(dir);
        float[] images = new float[N * 28 * 28];
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < images.length; i++) images[i] = (float) r.nextGaussian();
        input = dir.resolve("images.safetensors");
        Safetensors.write(input, Map.of("images", Safetensors.Tensor.of(images, N, 1, 28, 28)), Map.of());
    }

    private static Safetensors.Contents embed(Path weights, String name) throws IOException {
        Path out = dir.resolve(name);
        CliRun r = CliRun.of("embed", "--checkpoint", weights.toString(), "--arch", "small", "--input",
                input.toString(), "--output", out.toString(), "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        return Safetensors.read(out);
    }

    @Test
    void projectionsAreTheNormalisedHeadOfTheFeatures() throws IOException {
        Map<String, Safetensors.Tensor> out = embed(checkpoint, "embedded.safetensors").tensors();
        float[] features = out.get("features").data(), projections = out.get("projections").data();
        assertArrayEquals(new long[] {N, 512}, out.get("features").shape());
        assertArrayEquals(new long[] {N, 128}, out.get("projections").shape());
        // Reference in double: fc.2(relu(fc.0(features))), each row scaled to unit length. Tolerance: float32
        // GEMMs over up to 512 terms against double; abs 1e-5 + rel 1e-4.
        Map<String, Safetensors.Tensor> w = Safetensors.read(checkpoint).tensors();
        double[] hidden = linear(features, w.get("encoder_q.fc.0.weight").data(), w.get("encoder_q.fc.0.bias").data());
        for (int i = 0; i < hidden.length; i++) hidden[i] = Math.max(0, hidden[i]);
        double[] expected = linear(hidden, w.get("encoder_q.fc.2.weight").data(), w.get("encoder_q.fc.2.bias").data());
        for (int n = 0; n < N; n++) {
            double norm = 0;
            for (int j = 0; j < 128; j++) norm += expected[n * 128 + j] * expected[n * 128 + j];
            for (int j = 0; j < 128; j++) expected[n * 128 + j] /= Math.sqrt(norm);
        }
        Tolerance.assertClose("projections", expected, projections, 1e-5, 1e-4);
        boolean nonZero = false;
        for (float f : features) { assertTrue(f >= 0, "pooled ReLU features"); nonZero |= f > 0; }
        assertTrue(nonZero);
    }

    @Test
    void aPlainTorchvisionStateDictGivesTheSameEmbedding() throws IOException {
        Map<String, Safetensors.Tensor> plain = new LinkedHashMap<>();
        Safetensors.read(checkpoint).tensors().forEach((k, v) -> {
            if (k.startsWith("encoder_q.")) plain.put(k.substring("encoder_q.".length()), v);
        });
        Path stateDict = dir.resolve("resnet-style.safetensors");
        Safetensors.write(stateDict, plain, Map.of());
        var a = embed(checkpoint, "a.safetensors").tensors();
        var b = embed(stateDict, "b.safetensors").tensors();
        assertArrayEquals(a.get("features").data(), b.get("features").data());
        assertArrayEquals(a.get("projections").data(), b.get("projections").data());
    }

    /** A jmoco checkpoint names its architecture; a plain state dict does not, and then --arch is asked for. */
    @Test
    void theArchitectureComesFromAJmocoCheckpoint() throws IOException {
        Path out = dir.resolve("no-arch.safetensors");
        CliRun r = CliRun.of("embed", "--checkpoint", checkpoint.toString(), "--input", input.toString(),
                "--output", out.toString(), "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(embed(checkpoint, "with-arch.safetensors").tensors().get("features").data(),
                Safetensors.read(out).tensors().get("features").data());
        Map<String, Safetensors.Tensor> plain = new LinkedHashMap<>();
        Safetensors.read(checkpoint).tensors().forEach((k, v) -> {
            if (k.startsWith("encoder_q.")) plain.put(k.substring("encoder_q.".length()), v);
        });
        Path stateDict = dir.resolve("plain-no-arch.safetensors");
        Safetensors.write(stateDict, plain, Map.of());
        CliRun refused = CliRun.of("embed", "--checkpoint", stateDict.toString(), "--input", input.toString(),
                "--output", dir.resolve("y.safetensors").toString(), "--device", "cpu");
        assertEquals(1, refused.code());
        assertTrue(refused.err().contains("records no architecture") && refused.err().contains("--arch"), refused.err());
    }

    /** Normalised images (these: Gaussian) embed quietly; images in [0, 1] (plain x / 255) get one warning. */
    @Test
    void unnormalisedImagesAreNamedNotSilentlyAccepted() throws IOException {
        assertTrue(!CliRun.of("embed", "--checkpoint", checkpoint.toString(), "--input", input.toString(), "--output",
                dir.resolve("quiet.safetensors").toString(), "--device", "cpu").err().contains("warning"));
        float[] raw = new float[N * 28 * 28];
        SplittableRandom r = new SplittableRandom(8);
        for (int i = 0; i < raw.length; i++) raw[i] = r.nextInt(256) / 255f;
        Path rawInput = dir.resolve("raw.safetensors");
        Safetensors.write(rawInput, Map.of("images", Safetensors.Tensor.of(raw, N, 1, 28, 28)), Map.of());
        CliRun run = CliRun.of("embed", "--checkpoint", checkpoint.toString(), "--input", rawInput.toString(),
                "--output", dir.resolve("raw-out.safetensors").toString(), "--device", "cpu");
        assertEquals(0, run.code(), run.err());
        assertTrue(run.err().contains("warning") && run.err().contains("lies in [0, 1]"), run.err());
    }

    /** --help states the normalisation the encoder expects, with the data sets' own statistics. */
    @Test
    void helpStatesTheNormalisation() {
        CliRun r = CliRun.of("embed", "--help");
        assertEquals(0, r.code(), r.err());
        String help = r.out().replaceAll("\\s+", " ");
        assertTrue(help.contains("(x / 255 - mean) / std") && help.contains(
                "fashion-mnist " + dev.jmoco.data.Normalization.FASHION_MNIST.describe()), help);
        assertTrue(help.contains("mean 0.2860 std 0.3530"), help);
    }

    @Test
    void inputWithoutImagesIsRejected() throws IOException {
        Path wrong = dir.resolve("wrong.safetensors");
        Safetensors.write(wrong, Map.of("pixels", Safetensors.Tensor.of(new float[4], 4)), Map.of());
        CliRun r = CliRun.of("embed", "--checkpoint", checkpoint.toString(), "--arch", "small", "--input",
                wrong.toString(), "--output", dir.resolve("x.safetensors").toString(), "--device", "cpu");
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("'images' [N, C, H, W]"), r.err());
    }

    /** x [N, in] times W^T [in, out] plus b, in double. */
    private static double[] linear(float[] x, float[] weight, float[] bias) {
        double[] xd = new double[x.length];
        for (int i = 0; i < x.length; i++) xd[i] = x[i];
        return linear(xd, weight, bias);
    }

    private static double[] linear(double[] x, float[] weight, float[] bias) {
        int out = bias.length, in = weight.length / out, n = x.length / in;
        double[] y = new double[n * out];
        for (int r = 0; r < n; r++)
            for (int o = 0; o < out; o++) {
                double s = bias[o];
                for (int i = 0; i < in; i++) s += x[r * in + i] * weight[o * in + i];
                y[r * out + o] = s;
            }
        return y;
    }
    private static CliRun embedTo(Path in, Path out) {
        return CliRun.of("embed", "--checkpoint", checkpoint.toString(), "--arch", "small", "--input", in.toString(),
                "--output", out.toString(), "--device", "cpu");
    }

    @Test
    void neverWritesOverItsInputTheCheckpointOrAForeignFile() throws IOException {
        byte[] in = Files.readAllBytes(input), ck = Files.readAllBytes(checkpoint);
        CliRun self = embedTo(input, input);
        assertEquals(1, self.code());
        assertTrue(self.err().contains("is the input: embed never writes over it"), self.err());
        CliRun overCheckpoint = embedTo(input, checkpoint);
        assertTrue(overCheckpoint.err().contains("is the checkpoint"), overCheckpoint.err());
        Path mine = Files.writeString(dir.resolve("mine.safetensors"), "my data");
        CliRun foreign = embedTo(input, mine);
        assertTrue(foreign.err().contains("exists and is not an embedding that embed wrote"), foreign.err());
        assertArrayEquals(in, Files.readAllBytes(input));
        assertArrayEquals(ck, Files.readAllBytes(checkpoint));
        assertEquals("my data", Files.readString(mine));
        Path again = dir.resolve("again.safetensors");
        assertEquals(0, embedTo(input, again).code());
        assertEquals(0, embedTo(input, again).code(), "an embedding of its own is replaced");
    }

    @Test
    void aMissingOutputFolderIsNamed() {
        Path out = dir.resolve("no-such-folder/out.safetensors");
        CliRun r = embedTo(input, out);
        assertEquals(1, r.code());
        assertTrue(r.err().contains(out + ": cannot write it: folder " + out.getParent() + " does not exist"), r.err());
    }

    @Test
    void imagesLargerThanTheLimitAreRefusedBeforeAnyWork() throws IOException {
        Path big = dir.resolve("big.safetensors");
        Safetensors.write(big, Map.of("images", Safetensors.Tensor.of(new float[1025 * 4], 1, 1, 1025, 4)), Map.of());
        CliRun r = embedTo(big, dir.resolve("big-out.safetensors"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("images of 4 x 1025 pixels, more than the 1024 a side"), r.err());
    }

    /**
     * 5,000,000 images of 1x5x5 (a sparse file: the data reads as zeros) would give 2.56e9 feature values, past
     * an int: refused with the counts instead of an overflow.
     */
    @Test
    void tooManyImagesForOneOutputTensorAreRefusedWithTheCounts() throws IOException {
        Path many = dir.resolve("many.safetensors");
        long n = 5_000_000L, bytes = n * 25 * 4;
        byte[] header = ("{\"images\":{\"dtype\":\"F32\",\"shape\":[" + n + ",1,5,5],\"data_offsets\":[0,"
                + bytes + "]}}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(many.toFile(), "rw")) {
            f.write(java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(header.length)
                    .array());
            f.write(header);
            f.setLength(8 + header.length + bytes);
        }
        try {
            CliRun r = embedTo(many, dir.resolve("many-out.safetensors"));
            assertEquals(1, r.code());
            assertTrue(r.err().contains("5000000 images give 2560000000 output values"), r.err());
        } finally {
            Files.delete(many);
        }
    }

    /**
     * Image files: grey PNGs (exact to decode) embed as the tensor of the same pixels normalised by hand with the
     * statistics the checkpoint records (Fashion-MNIST's), in the folder's path order or the list's order.
     */
    @Test
    void imageFilesEmbedAsTheirPixelsNormalisedWithTheCheckpointsStatistics() throws IOException {
        Path folder = dir.resolve("pngs");
        int n = 3;
        float[] normalised = new float[n * 28 * 28];
        SplittableRandom r = new SplittableRandom(11);
        for (int i = 0; i < n; i++) {
            BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++) {
                    int v = r.nextInt(256);
                    img.getRaster().setSample(x, y, 0, v);
                    normalised[i * 784 + y * 28 + x] = (float) ((v / 255.0 - 0.2860) / 0.3530);
                }
            Path f = folder.resolve("sub" + (i % 2) + "/img" + i + ".png");
            Files.createDirectories(f.getParent());
            assertTrue(ImageIO.write(img, "png", f.toFile()));
        }
        Path tensor = dir.resolve("by-hand.safetensors");
        Safetensors.write(tensor, Map.of("images", Safetensors.Tensor.of(normalised, n, 1, 28, 28)), Map.of());
        float[] expected = embedded(tensor, "by-hand.out.safetensors").tensors().get("features").data();
        int dimension = expected.length / n;

        Safetensors.Contents fromFolder = embedded(folder, "folder.out.safetensors");
        // path order: sub0/img0, sub0/img2, sub1/img1
        int[] rowOf = {0, 2, 1};
        float[] got = fromFolder.tensors().get("features").data();
        for (int i = 0; i < n; i++)
            Tolerance.assertClose("image " + i, Arrays.copyOfRange(expected, i * dimension,
                    (i + 1) * dimension), Arrays.copyOfRange(got, rowOf[i] * dimension,
                    (rowOf[i] + 1) * dimension), 1e-5, 1e-4);
        assertTrue(fromFolder.metadata().get("files").contains("sub0/img2.png"), fromFolder.metadata().toString());

        Path list = Files.writeString(dir.resolve("list.txt"), "# two of them\npngs/sub1/img1.png\n\npngs/sub0/img0.png\n");
        float[] listed = embedded(list, "list.out.safetensors").tensors().get("features").data();
        Tolerance.assertClose("first listed", Arrays.copyOfRange(expected, dimension, 2 * dimension),
                Arrays.copyOfRange(listed, 0, dimension), 1e-5, 1e-4);
        Files.writeString(list, "pngs/sub1/missing.png\n");
        CliRun missing = CliRun.of("embed", "--checkpoint", checkpoint.toString(), "--input", list.toString(),
                "--output", dir.resolve("m.safetensors").toString(), "--device", "cpu");
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains(list + ": line 1: ") && missing.err().contains("missing.png"), missing.err());
    }

    private static Safetensors.Contents embedded(Path in, String name) throws IOException {
        Path out = dir.resolve(name);
        CliRun r = CliRun.of("embed", "--checkpoint", checkpoint.toString(), "--input", in.toString(), "--output",
                out.toString(), "--device", "cpu", "--workers", "2");
        assertEquals(0, r.code(), r.err());
        return Safetensors.read(out);
    }
}
