package dev.jmoco.cli;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Backends;
import dev.jmoco.data.Batch;
import dev.jmoco.data.ColorSpace;
import dev.jmoco.data.Dataset;
import dev.jmoco.data.ImageFolderIndex;
import dev.jmoco.data.Loader;
import dev.jmoco.data.Normalization;
import dev.jmoco.io.Json;
import dev.jmoco.io.Safetensors;
import dev.jmoco.nn.Encoder;
import dev.jmoco.train.EncoderFiles;
import dev.jmoco.train.Features;
import dev.jmoco.train.LabEncoders;
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
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * {@code jmoco embed}: runs a saved encoder (eval mode) over images and writes {@code features} [N, featureDim]
 * (the backbone's pooled output) and {@code projections} [N, dim] (the head's output, L2-normalised) to a
 * safetensors file. The images are either image files (a folder of them at any depth, one image, or a text
 * file listing paths; see {@link ImageFolderIndex#ofImages}), decoded on the loader's threads, turned into the
 * evaluation view of the training (the centre crop at the checkpoint's --image-size, or the images' own common
 * size) and normalised with the statistics the checkpoint records (their paths are kept in the output's
 * metadata, "files", in row order); or the float32 tensor {@code images} [N, C, H, W] of a safetensors file,
 * used as given: normalised as in training, (x / 255 - mean) / std per channel with the training set's
 * statistics ({@link Normalization}); images whose values all lie in [0, 1] (plain x / 255) get a one-line
 * warning, since they give worse features. It never writes over its input, over the checkpoint, or over a file
 * that is not an embedding it wrote before; images larger than {@value #MAX_SIDE} pixels a side are refused
 * before any work.
 */
@Command(name = "embed", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Embed images with a trained encoder: image files (a folder, one image or a list of paths), "
                + "or float32 'images' [N, C, H, W] in safetensors; writes 'features' (backbone) and 'projections' "
                + "(normalised head output)."})
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
    @Option(names = "--input", required = true, paramLabel = "PATH", description = {"A .safetensors file with "
            + "'images', or image files: a folder (PNG/JPEG at any depth, path order), one image, or a text file "
            + "of paths, one per line."})
    Path input;
    @Option(names = "--output", required = true, paramLabel = "FILE", description = "safetensors to write.")
    Path output;
    @Option(names = "--image-size", paramLabel = "N", description = "Image files: side of the centre crop the "
            + "encoder sees (default: the checkpoint's --image-size; 0: the images' own size, which they must share).")
    Integer imageSize;
    @Option(names = "--normalization", paramLabel = "SET", description = "Image files, when the checkpoint records "
            + "no normalisation (a state dict, an older checkpoint): imagenet, cifar10, cifar100, fashion-mnist, mnist.")
    String normalization;
    @Option(names = "--workers", paramLabel = "N", defaultValue = "0", description = "Image files: decoding "
            + "threads (0: one per core).")
    int workers;
    @Option(names = "--device", paramLabel = "D", defaultValue = "auto", description = {TrainSettings.DEVICE_HELP_1,
            TrainSettings.DEVICE_HELP_2, TrainSettings.DEVICE_HELP_3, "Default: ${DEFAULT-VALUE}."})
    String device;
    @Option(names = "--view", paramLabel = "l|ab|both", description = {"A checkpoint of --views lab (CMC): the "
            + "outputs of its L encoder, its ab encoder, or both concatenated [L | ab] (default: both). Its inputs are "
            + "colour images, or a tensor of Lab images normalised as in training."})
    String view;

    /** The rows embed writes, and the image files they came from (empty for a tensor input). */
    private record Embedding(int n, int featureDim, float[] features, int dim, float[] projections, List<Path> files) {}

    /**
     * What embed runs: one encoder, or a lab checkpoint's pair (its inputs 3-channel Lab, its outputs the chosen
     * view's or both concatenated).
     */
    private interface Model extends AutoCloseable {
        int channels();
        int featureDim();
        int dim();
        /** {features, projections} of images [n, c, h, w]. */
        float[][] embed(float[] images, int[] shape);
        ColorSpace colorSpace();
        /** The lab view embedded (l, ab, both), or null for one encoder. */
        String view();
        @Override void close();
    }

    private static Model of(Encoder encoder) {
        return new Model() {
            public int channels() { return encoder.architecture().inChannels(); }
            public int featureDim() { return encoder.featureDim(); }
            public int dim() { return encoder.architecture().outputDim(); }
            public float[][] embed(float[] images, int[] shape) { return Features.embed(encoder, images, shape); }
            public ColorSpace colorSpace() { return ColorSpace.RGB; }
            public String view() { return null; }
            public void close() { encoder.arena().close(); }
        };
    }

    private static Model of(LabEncoders lab, LabEncoders.Choice choice) {
        return new Model() {
            public int channels() { return 3; }
            public int featureDim() { return lab.featureDim(choice); }
            public int dim() { return lab.dim(choice); }
            public float[][] embed(float[] images, int[] shape) { return lab.embed(images, shape, choice); }
            public ColorSpace colorSpace() { return ColorSpace.LAB; }
            public String view() { return choice.cliName(); }
            public void close() { lab.close(); }
        };
    }

    /** The checkpoint's encoder, or its lab pair with the chosen view. */
    private Model load(String family, Backend backend) throws IOException {
        boolean lab = EncoderFiles.recordedLabViews(checkpoint);
        if (!lab && view != null)
            throw new IllegalArgumentException("--view is for checkpoints of --views lab (CMC's L and ab encoders); "
                    + checkpoint + " has one encoder");
        if (!lab) return of(EncoderFiles.load(checkpoint, family, backend));
        LabEncoders.Choice choice = view == null ? LabEncoders.Choice.BOTH : LabEncoders.Choice.parse(view);
        return of(LabEncoders.load(checkpoint, family, backend), choice);
    }

    @Override
    public Integer call() throws Exception {
        if (RankZeroOnly.skip("embed", spec.commandLine().getErr())) return 0;
        requireWritable();
        boolean tensors = input.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".safetensors");
        String family = arch != null ? arch : EncoderFiles.recordedFamily(checkpoint);
        Safetensors.Tensor images = tensors ? readImagesTensor() : null;
        ImageFolderIndex files = tensors ? null : ImageFolderIndex.ofImages(input);
        Embedding e;
        String embeddedView;
        try (Backend backend = Backends.create(device); Model model = load(family, backend)) {
            e = tensors ? embedTensor(model, images) : embedFiles(model, files);
            embeddedView = model.view();
        }
        Map<String, Safetensors.Tensor> result = new LinkedHashMap<>();
        result.put("features", Safetensors.Tensor.of(e.features(), e.n(), e.featureDim()));
        result.put("projections", Safetensors.Tensor.of(e.projections(), e.n(), e.dim()));
        Map<String, String> metadata = new LinkedHashMap<>(Map.of("format", FORMAT, "source", checkpoint.toString(),
                "arch", family));
        if (embeddedView != null) metadata.put("view", embeddedView);
        if (!e.files().isEmpty()) metadata.put("files", e.files().stream().map(f -> Json.quote(f.toString()))
                .collect(Collectors.joining(",", "[", "]")));
        Safetensors.write(output, result, metadata);
        spec.commandLine().getOut().printf("embedded %d images: features [%d, %d], projections [%d, %d] -> %s%n",
                e.n(), e.n(), e.featureDim(), e.n(), e.dim(), output);
        spec.commandLine().getOut().flush();
        return 0;
    }

    /** The 'images' tensor of the input, its shape checked. */
    private Safetensors.Tensor readImagesTensor() throws IOException {
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
        return images;
    }

    private Embedding embedTensor(Model model, Safetensors.Tensor images) {
        long[] shape = images.shape();
        int n = (int) shape[0];  // the reader bounds every tensor to one Java array
        int[] sample = {(int) shape[1], (int) shape[2], (int) shape[3]};
        int length = sample[0] * sample[1] * sample[2];
        if (sample[0] != model.channels())
            throw new IllegalArgumentException(input + ": tensor 'images' has " + sample[0] + " channels, the "
                    + "encoder of " + checkpoint + " takes " + model.channels()
                    + (model.colorSpace() == ColorSpace.LAB ? " (Lab: L and ab, normalised as in training)" : ""));
        Embedding e = allocate(model, n, List.of());
        for (int from = 0; from < n; from += CHUNK) {
            int count = Math.min(CHUNK, n - from);
            store(e, from, model.embed(Arrays.copyOfRange(images.data(), from * length, (from + count) * length),
                    new int[] {count, sample[0], sample[1], sample[2]}));
        }
        return e;
    }

    /** Decodes the files on the loader's threads, a chunk at a time, into their evaluation views. */
    private Embedding embedFiles(Model model, ImageFolderIndex files) throws IOException {
        int size = imageSize != null ? imageSize : EncoderFiles.recordedImageSize(checkpoint);
        if (size < 0 || size > MAX_SIDE)
            throw new IllegalArgumentException("--image-size must be in [0, " + MAX_SIDE + "], got " + size);
        int channels = model.channels();
        Dataset data = Dataset.ofFiles(files.name(), files.files(), files.labels(), channels, size, 1,
                inputNormalization().forChannels(channels), List.of());
        if (data.height() > MAX_SIDE || data.width() > MAX_SIDE)
            throw new IllegalArgumentException(data.file(0) + ": " + data.width() + " x " + data.height()
                    + " pixels, more than the " + MAX_SIDE + " a side that embed takes: give --image-size");
        Embedding e = allocate(model, data.size(), files.files());
        Loader.Builder b = Loader.builder(data).batchSize(Math.min(CHUNK, data.size())).colorSpace(model.colorSpace());
        if (workers > 0) b.threads(workers);
        try (Loader loader = b.build(); Loader.Epoch epoch = loader.epoch(0)) {
            int from = 0;
            while (epoch.hasNext()) {
                try (Batch batch = epoch.next()) {
                    int count = batch.size();
                    store(e, from, model.embed(Arrays.copyOf(batch.view(0), count * loader.sampleLength()),
                            new int[] {count, channels, loader.viewHeight(), loader.viewWidth()}));
                    from += count;
                }
            }
        }
        return e;
    }

    /** The checkpoint's recorded normalisation, else --normalization, else an error saying to give it. */
    private Normalization inputNormalization() throws IOException {
        Normalization recorded = EncoderFiles.recordedNormalization(checkpoint);
        if (normalization == null) {
            if (recorded != null) return recorded;
            throw new IllegalArgumentException(checkpoint + " records no normalisation of its training images (a state "
                    + "dict, or a checkpoint older than the field): give --normalization imagenet, cifar10, cifar100, "
                    + "fashion-mnist or mnist");
        }
        try {
            return Normalization.named(normalization);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--normalization: " + e.getMessage(), e);
        }
    }

    private Embedding allocate(Model model, int n, List<Path> files) {
        int featureDim = model.featureDim(), dim = model.dim();
        long outputs = (long) n * Math.max(featureDim, dim);
        if (outputs > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException(input + ": " + n + " images give " + outputs + " output values, "
                    + "more than one output tensor holds (2^31): embed them in parts");
        return new Embedding(n, featureDim, new float[n * featureDim], dim, new float[n * dim], files);
    }

    /** Copies one chunk's {features, projections} into rows [from, ..) of {@code e}. */
    private static void store(Embedding e, int from, float[][] out) {
        System.arraycopy(out[0], 0, e.features(), from * e.featureDim(), out[0].length);
        System.arraycopy(out[1], 0, e.projections(), from * e.dim(), out[1].length);
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
