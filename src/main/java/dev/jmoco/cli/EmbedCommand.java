package dev.jmoco.cli;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Backends;
import dev.jmoco.data.Normalization;
import dev.jmoco.io.Safetensors;
import dev.jmoco.nn.Encoder;
import dev.jmoco.train.EncoderFiles;
import dev.jmoco.train.Features;
import dev.jmoco.train.TrainSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code jmoco embed}: runs a saved encoder (eval mode) over the float32 tensor {@code images} [N, C, H, W] of a
 * safetensors file and writes {@code features} [N, featureDim] (the backbone's pooled output) and
 * {@code projections} [N, dim] (the head's output, L2-normalised) to another. The images are used as given:
 * normalised as in training, (x / 255 - mean) / std per channel with the training set's statistics
 * ({@link Normalization}); images whose values all lie in [0, 1] (plain x / 255) get a one-line warning,
 * since they give worse features. It never writes over its input, over the
 * checkpoint, or over a file that is not an embedding it wrote before; images larger than
 * {@value #MAX_SIDE} pixels a side are refused before any work.
 */
@Command(name = "embed", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Embed images with a trained encoder: reads float32 'images' [N, C, H, W], writes "
                + "'features' (backbone) and 'projections' (normalised head output)."})
final class EmbedCommand implements Callable<Integer> {
    /** Images per forward pass, to bound memory on large inputs. */
    private static final int CHUNK = 512;
    /** The largest image side embed takes: MoCo's encoders are trained on 224 px or less. */
    static final int MAX_SIDE = 1024;
    /** The metadata {@code format} of the files embed writes (the ones it may replace). */
    static final String FORMAT = "jmoco-embedding-1";

    @Spec CommandSpec spec;

    @Option(names = "--checkpoint", required = true, paramLabel = "FILE",
            description = "A jmoco checkpoint (encoder_q.*) or a torchvision-named state dict.")
    Path checkpoint;
    @Option(names = "--arch", paramLabel = "A",
            description = "small, resnet18, resnet50 (default: the one a jmoco checkpoint records).")
    String arch;
    @Option(names = "--input", required = true, paramLabel = "FILE", description = "safetensors with 'images'.")
    Path input;
    @Option(names = "--output", required = true, paramLabel = "FILE", description = "safetensors to write.")
    Path output;
    @Option(names = "--device", paramLabel = "D", defaultValue = "auto", description = {TrainSettings.DEVICE_HELP_1,
            TrainSettings.DEVICE_HELP_2, TrainSettings.DEVICE_HELP_3, "Default: ${DEFAULT-VALUE}."})
    String device;

    @Override
    public Integer call() throws Exception {
        requireWritable();
        Safetensors.Tensor images = Safetensors.read(input).tensors().get("images");
        if (images == null || images.data() == null || images.shape().length != 4)
            throw new IllegalArgumentException(input + ": expected a float tensor 'images' [N, C, H, W], found "
                    + (images == null ? "none" : images.dtype() + " " + Arrays.toString(images.shape())));
        long[] shape = images.shape();
        if (shape[0] < 1 || shape[1] < 1 || shape[2] < 1 || shape[3] < 1)
            throw new IllegalArgumentException(input + ": tensor 'images' " + Arrays.toString(shape) + " is empty");
        if (shape[2] > MAX_SIDE || shape[3] > MAX_SIDE)
            throw new IllegalArgumentException(input + ": tensor 'images' holds images of " + shape[3] + " x "
                    + shape[2] + " pixels, more than the " + MAX_SIDE + " a side that embed takes: resize them");
        warnIfUnnormalised(images.data());
        String family = arch != null ? arch : EncoderFiles.recordedFamily(checkpoint);
        int n = (int) shape[0];  // the reader bounds every tensor to one Java array
        int[] sample = {(int) shape[1], (int) shape[2], (int) shape[3]};
        int length = sample[0] * sample[1] * sample[2];
        float[] features, projections;
        int featureDim, dim;
        try (Backend backend = Backends.create(device)) {
            Encoder encoder = EncoderFiles.load(checkpoint, family, backend);
            try {
                if (sample[0] != encoder.architecture().inChannels())
                    throw new IllegalArgumentException(input + ": tensor 'images' has " + sample[0] + " channels, the "
                            + "encoder of " + checkpoint + " takes " + encoder.architecture().inChannels());
                featureDim = encoder.featureDim();
                dim = encoder.architecture().outputDim();
                long outputs = (long) n * Math.max(featureDim, dim);
                if (outputs > Integer.MAX_VALUE - 8)
                    throw new IllegalArgumentException(input + ": " + n + " images give " + outputs + " output values, "
                            + "more than one output tensor holds (2^31): embed them in parts");
                features = new float[n * featureDim];
                projections = new float[n * dim];
                for (int from = 0; from < n; from += CHUNK) {
                    int count = Math.min(CHUNK, n - from);
                    float[][] out = Features.embed(encoder,
                            Arrays.copyOfRange(images.data(), from * length, (from + count) * length),
                            new int[] {count, sample[0], sample[1], sample[2]});
                    System.arraycopy(out[0], 0, features, from * featureDim, count * featureDim);
                    System.arraycopy(out[1], 0, projections, from * dim, count * dim);
                }
            } finally {
                encoder.arena().close();
            }
        }
        Map<String, Safetensors.Tensor> result = new LinkedHashMap<>();
        result.put("features", Safetensors.Tensor.of(features, n, featureDim));
        result.put("projections", Safetensors.Tensor.of(projections, n, dim));
        Safetensors.write(output, result, Map.of("format", FORMAT, "source", checkpoint.toString(), "arch", family));
        spec.commandLine().getOut().printf("embedded %d images: features [%d, %d], projections [%d, %d] -> %s%n",
                n, n, featureDim, n, dim, output);
        spec.commandLine().getOut().flush();
        return 0;
    }

    /** Normalised images have negative values (the mean is subtracted); x / 255 alone has none. */
    private void warnIfUnnormalised(float[] pixels) {
        for (float v : pixels) if (v < 0 || v > 1) return;
        spec.commandLine().getErr().println("jmoco: warning: " + input + ": every value of 'images' lies in [0, 1], "
                + "as plain x / 255 does: the encoder expects (x / 255 - mean) / std as in training (see --help); "
                + "features of unnormalised images are worse");
        spec.commandLine().getErr().flush();
    }

    /** The --help footer: the normalisation the encoder expects, from the data sets' own constants. */
    static String normalisationHelp() {
        return "The images must be normalised as in training: (x / 255 - mean) / std per channel, with the training "
                + "set's statistics: fashion-mnist " + Normalization.FASHION_MNIST.describe() + "; mnist "
                + Normalization.MNIST.describe() + "; cifar10 " + Normalization.CIFAR10.describe() + "; cifar100 "
                + Normalization.CIFAR100.describe() + "; an image folder: its own, computed from its training "
                + "images. Plain x / 255 gives worse features (and a warning).";
    }

    /**
     * Refuses an output that is the input, the checkpoint, or an existing file other than an embedding that
     * embed wrote, before any work is done.
     */
    private void requireWritable() throws IOException {
        for (Map.Entry<String, Path> kept : Map.of("input", input, "checkpoint", checkpoint).entrySet())
            if (Files.exists(output) && Files.exists(kept.getValue()) && Files.isSameFile(output, kept.getValue()))
                throw new IllegalArgumentException("--output " + output + " is the " + kept.getKey()
                        + ": embed never writes over it; choose another file");
        if (!Files.exists(output)) return;
        if (!Files.isRegularFile(output))
            throw new IllegalArgumentException("--output " + output + " exists and is not a file");
        Map<String, String> metadata;
        try {
            metadata = Safetensors.readMetadata(output);
        } catch (IOException notSafetensors) {
            metadata = Map.of();
        }
        if (!FORMAT.equals(metadata.get("format")))
            throw new IllegalArgumentException("--output " + output + " exists and is not an embedding that embed "
                    + "wrote (it may be a checkpoint or your data): choose another file, or remove it first");
    }
}
