package dev.jmoco.train;

import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.backend.Backend;
import dev.jmoco.data.Normalization;
import dev.jmoco.io.Json;
import dev.jmoco.io.Safetensors;
import dev.jmoco.nn.Architecture;
import dev.jmoco.nn.Encoder;
import dev.jmoco.nn.Encoders;
import dev.jmoco.nn.HeadKind;
import dev.jmoco.nn.Stem;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Encoders saved in safetensors files with torchvision names: a jmoco checkpoint (f_q under
 * {@code encoder_q.}), a reference MoCo state dict ({@code module.encoder_q.}) or a plain torchvision-named
 * state dict. The architecture's details (input channels, stem, head, output dim) are read off the tensor
 * shapes, so only the family (small, resnet18, resnet50) must be named.
 */
public final class EncoderFiles {
    /** Name prefixes tried in order for each parameter. */
    private static final List<String> PREFIXES = List.of("encoder_q.", "module.encoder_q.", "");

    private EncoderFiles() {}

    /**
     * Loads f_q from {@code file} into a new (not trainable) arena on {@code backend}; close
     * {@code encoder.arena()} when done.
     *
     * @throws IOException              if the file cannot be read
     * @throws IllegalArgumentException if it does not hold an encoder of family {@code arch} (the message names
     *                                  the file and the missing or mismatched tensor)
     */
    public static Encoder load(Path file, String arch, Backend backend) throws IOException {
        return load(file, arch, backend, PREFIXES, Checkpoint.ARCHITECTURE);
    }

    /**
     * Loads the ab view's f_q of a lab (CMC) checkpoint ({@code ab.encoder_q.*}; {@link #load} gives L's) as
     * {@link #load} does.
     */
    public static Encoder loadAb(Path file, String arch, Backend backend) throws IOException {
        return load(file, arch, backend, List.of(Checkpoint.AB + Checkpoint.Q), Checkpoint.AB + Checkpoint.ARCHITECTURE);
    }

    private static Encoder load(Path file, String arch, Backend backend, List<String> prefixes, String architectureKey)
            throws IOException {
        Safetensors.Contents contents = Safetensors.read(file);
        Architecture architecture = architectureOf(file, contents.tensors(), arch, prefixes);
        String recorded = contents.metadata().get(architectureKey);
        if (recorded != null && !recorded.equals(architecture.id()))
            throw new IllegalArgumentException(file + ": checkpoint of architecture " + recorded
                    + ", requested " + architecture.id());
        ParameterArena arena = architecture.arenaLayout().build(backend, false);
        try {
            load(file, contents.tensors(), arena, prefixes);
            return architecture.bind(arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Whether a jmoco checkpoint was trained with {@code --views lab} (CMC: an L and an ab encoder). */
    public static boolean recordedLabViews(Path checkpoint) throws IOException {
        return "lab".equals(Safetensors.readMetadata(checkpoint).get(Checkpoint.CONFIG + TrainSettings.VIEWS.key()));
    }

    /**
     * The normalisation of the training images that a jmoco checkpoint records, or null (a plain state dict,
     * or a checkpoint older than the field).
     */
    public static Normalization recordedNormalization(Path checkpoint) throws IOException {
        return Checkpoint.normalization(checkpoint, Safetensors.readMetadata(checkpoint));
    }

    /** The side of a folder's views a jmoco checkpoint was trained at; 0 when none (or not recorded). */
    public static int recordedImageSize(Path checkpoint) throws IOException {
        String v = Safetensors.readMetadata(checkpoint).get(Checkpoint.CONFIG + "image_size");
        try {
            return v == null ? 0 : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(checkpoint + ": checkpoint field " + Checkpoint.CONFIG
                    + "image_size is not an integer: " + Json.visible(v));
        }
    }

    /**
     * The encoder family (small, resnet18, resnet50) a jmoco checkpoint records in its metadata.
     *
     * @throws IllegalArgumentException when the file records none (a plain state dict: the family must be named)
     */
    public static String recordedFamily(Path checkpoint) throws IOException {
        String a = Safetensors.readMetadata(checkpoint).get(Checkpoint.CONFIG + "arch");
        if (a == null)
            throw new IllegalArgumentException(checkpoint + " records no architecture (not a jmoco checkpoint): "
                    + "name it with --arch");
        return a;
    }

    /**
     * Fills every entry of {@code arena} from {@code tensors}, taking the first of {@code prefixes} + name found.
     *
     * @throws IllegalArgumentException naming the file and the tensor if one is missing or has another shape
     */
    static void load(Path file, Map<String, Safetensors.Tensor> tensors, ParameterArena arena, List<String> prefixes) {
        for (ParameterArena.Entry e : arena.entries()) {
            Safetensors.Tensor t = find(tensors, prefixes, e.name());
            if (t == null)
                throw new IllegalArgumentException(file + ": no tensor " + prefixes.getFirst() + e.name()
                        + " (nor " + e.name() + ") for the encoder");
            long[] want = Arrays.stream(e.shape()).asLongStream().toArray();
            if (!Arrays.equals(want, t.shape()) || t.data() == null)
                throw new IllegalArgumentException(file + ": tensor " + e.name() + " is " + t.dtype() + " "
                        + Arrays.toString(t.shape()) + ", the encoder needs F32 " + Arrays.toString(want));
            arena.load(e.name(), t.data());
        }
    }

    /** The architecture of family {@code arch} whose shapes the file's tensors have. */
    private static Architecture architectureOf(Path file, Map<String, Safetensors.Tensor> tensors, String arch,
                                               List<String> prefixes) {
        Safetensors.Tensor conv1 = find(tensors, prefixes, "conv1.weight");
        if (conv1 == null || conv1.shape().length != 4)
            throw new IllegalArgumentException(file + ": no 4-d conv1.weight (nor " + prefixes.getFirst()
                    + "conv1.weight): not an encoder state dict");
        int channels = (int) conv1.shape()[1];
        Stem stem = conv1.shape()[2] == 7 ? Stem.IMAGENET : Stem.CIFAR;
        Safetensors.Tensor v1 = find(tensors, prefixes, "fc.weight"), v2 = find(tensors, prefixes, "fc.2.weight"),
                bn = find(tensors, prefixes, "fc.3.weight");
        if (v1 == null && v2 == null && bn == null)
            throw new IllegalArgumentException(file + ": no head (fc.weight, fc.2.weight or fc.3.weight) found");
        HeadKind head = bn != null ? HeadKind.BN : v2 != null ? HeadKind.V2 : HeadKind.V1;
        int dim = (int) (bn != null ? bn : v2 != null ? v2 : v1).shape()[0];
        return Encoders.create(arch, stem, channels, head, dim);
    }

    private static Safetensors.Tensor find(Map<String, Safetensors.Tensor> tensors, List<String> prefixes,
                                           String name) {
        for (String p : prefixes) {
            Safetensors.Tensor t = tensors.get(p + name);
            if (t != null) return t;
        }
        return null;
    }
}
