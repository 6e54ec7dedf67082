package dev.jmoco.cli;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Backends;
import dev.jmoco.io.Safetensors;
import dev.jmoco.nn.Encoder;
import dev.jmoco.train.EncoderFiles;
import dev.jmoco.train.Features;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code jmoco embed}: runs a saved encoder (eval mode) over the float32 tensor {@code images} [N, C, H, W] of a
 * safetensors file and writes {@code features} [N, featureDim] (the backbone's pooled output) and
 * {@code projections} [N, dim] (the head's output, L2-normalised) to another. The images are used as given:
 * normalise them as in training (the data set's mean and std).
 */
@Command(name = "embed", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Embed images with a trained encoder: reads float32 'images' [N, C, H, W], writes "
                + "'features' (backbone) and 'projections' (normalised head output).")
final class EmbedCommand implements Callable<Integer> {
    /** Images per forward pass, to bound memory on large inputs. */
    private static final int CHUNK = 512;

    @Spec CommandSpec spec;

    @Option(names = "--checkpoint", required = true, paramLabel = "FILE",
            description = "A jmoco checkpoint (encoder_q.*) or a torchvision-named state dict.")
    Path checkpoint;
    @Option(names = "--arch", required = true, paramLabel = "A", description = "small, resnet18, resnet50")
    String arch;
    @Option(names = "--input", required = true, paramLabel = "FILE", description = "safetensors with 'images'.")
    Path input;
    @Option(names = "--output", required = true, paramLabel = "FILE", description = "safetensors to write.")
    Path output;
    @Option(names = "--device", paramLabel = "D", defaultValue = "auto", description = Main.DEVICE_HELP)
    String device;

    @Override
    public Integer call() throws Exception {
        Safetensors.Tensor images = Safetensors.read(input).tensors().get("images");
        if (images == null || images.data() == null || images.shape().length != 4)
            throw new IllegalArgumentException(input + ": expected a float tensor 'images' [N, C, H, W], found "
                    + (images == null ? "none" : images.dtype() + " " + Arrays.toString(images.shape())));
        int n = Math.toIntExact(images.shape()[0]);
        int[] sample = {(int) images.shape()[1], (int) images.shape()[2], (int) images.shape()[3]};
        int length = sample[0] * sample[1] * sample[2];
        float[] features, projections;
        int featureDim, dim;
        try (Backend backend = Backends.create(device)) {
            Encoder encoder = EncoderFiles.load(checkpoint, arch, backend);
            try {
                featureDim = encoder.featureDim();
                dim = encoder.architecture().outputDim();
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
        Safetensors.write(output, result, Map.of("source", checkpoint.toString(), "arch", arch));
        spec.commandLine().getOut().printf("embedded %d images: features [%d, %d], projections [%d, %d] -> %s%n",
                n, n, featureDim, n, dim, output);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
