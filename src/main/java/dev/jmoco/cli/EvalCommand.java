package dev.jmoco.cli;

import dev.jmoco.eval.FineTune;
import dev.jmoco.train.CheckpointEvaluation;
import dev.jmoco.train.EncoderFiles;
import dev.jmoco.train.PixelBaselines;
import dev.jmoco.train.TrainSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code jmoco eval knn|linear|finetune|pixels}: accuracy of a saved backbone on a data set's test split; prints
 * and writes it (with the label subset, when a fraction of the labels was used).
 */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Evaluate a checkpoint's backbone: knn (weighted kNN, k 200, t 0.1) or linear (frozen "
                + "backbone, linear classifier on standardised features, SGD with a cosine schedule; --probe paper: "
                + "MoCo's protocol); finetune (the whole backbone trained with a new classifier, BN in training mode, "
                + "backbone lr x --backbone-lr-scale, crops and flips; --scratch: from a random initialisation, the "
                + "supervised baseline); or pixels "
                + "(the same kNN on raw pixels, unit-normalised and standardised: the baselines, no checkpoint).",
                "--label-fraction F: only a seeded, class-balanced fraction F of the training labels (1%% and 10%% as "
                        + "in CPC v2 and SimCLR); the subset is written beside the result (.subset.json).",
                "Prints the test accuracy and writes it as JSON beside the checkpoint (or to --out; pixels: only to "
                        + "--out). Progress (encoding passes, linear epochs) goes to stderr."})
final class EvalCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "knn|linear|finetune|pixels", description = "The protocol.")
    String protocol;
    @Option(names = "--checkpoint", paramLabel = "FILE",
            description = "A jmoco checkpoint.safetensors or a torchvision-named state dict.")
    Path checkpoint;
    @Option(names = "--arch", paramLabel = "A", description = "small, resnet18, resnet50 (default: the checkpoint's).")
    String arch;
    @Option(names = "--dataset", paramLabel = "KIND",
            description = "fashion-mnist, mnist, cifar10, cifar100, folder (default: the one the checkpoint was "
                    + "trained on, else fashion-mnist)")
    String dataset;
    @Option(names = "--data-dir", paramLabel = "DIR", description = "Folder of the data set's files (default: the "
            + "checkpoint's when --dataset is its data set too; for fashion-mnist /usr/share/datasets/fashion-mnist).")
    Path dataDir;
    @Option(names = "--image-size", paramLabel = "N", description = "Image folders: side of the centre crops the "
            + "backbone sees (default: the checkpoint's --image-size when --dataset is its data set too, else 0: the "
            + "images' own size).")
    Integer imageSize;
    @Option(names = "--limit-train", paramLabel = "N", defaultValue = "0", description = "First N training images (0: all).")
    int limitTrain;
    @Option(names = "--limit-test", paramLabel = "N", defaultValue = "0", description = "First N test images (0: all).")
    int limitTest;
    @Option(names = "--knn-k", paramLabel = "K", defaultValue = "200", description = "kNN neighbours (${DEFAULT-VALUE}).")
    int knnK;
    @Option(names = "--knn-t", paramLabel = "T", defaultValue = "0.1", description = "kNN temperature (${DEFAULT-VALUE}).")
    float knnT;
    @Option(names = "--epochs", paramLabel = "N", defaultValue = "20",
            description = "Linear and finetune: epochs (${DEFAULT-VALUE}).")
    int epochs;
    @Option(names = "--lr", paramLabel = "LR", defaultValue = "0.1",
            description = "Linear and finetune: the classifier's base lr, cosine to 0 (${DEFAULT-VALUE}).")
    double lr;
    @Option(names = "--label-fraction", paramLabel = "F", defaultValue = "1",
            description = "knn, linear, finetune: train on a class-balanced fraction of the labels, in (0, 1] "
                    + "(${DEFAULT-VALUE}: all).")
    double labelFraction;
    @Option(names = "--label-subset", paramLabel = "FILE",
            description = "knn, linear, finetune: train on the labels of a subset an earlier evaluation wrote "
                    + "(its .subset.json), instead of drawing --label-fraction.")
    Path labelSubset;
    @Option(names = "--seed", paramLabel = "S", defaultValue = "0",
            description = "Seed of the label subset, the classifier's initialisation and the shuffles (${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--backbone-lr-scale", paramLabel = "X", defaultValue = "0.1",
            description = "Finetune: the backbone's lr as a fraction of --lr (${DEFAULT-VALUE}).")
    double backboneLrScale;
    @Option(names = "--batch", paramLabel = "N", defaultValue = "256", description = "Finetune: batch (${DEFAULT-VALUE}).")
    int batch;
    @Option(names = "--wd", paramLabel = "WD", defaultValue = "5e-4",
            description = "Finetune: weight decay on weights (${DEFAULT-VALUE}).")
    float weightDecay;
    @Option(names = "--scratch", description = "Finetune: from a random initialisation of --arch (no checkpoint).")
    boolean scratch;
    @Option(names = "--probe", paramLabel = "jmoco|paper", defaultValue = "jmoco", description = {"Linear: jmoco "
            + "(standardised features, cosine lr from --lr over --epochs) or paper (MoCo's protocol: 100 epochs, "
            + "lr 30 x0.1 at epochs 60 and 80, raw features; --epochs and --lr unused).", "Default: ${DEFAULT-VALUE}."})
    String probe;
    @Option(names = "--device", paramLabel = "D", defaultValue = "auto", description = {TrainSettings.DEVICE_HELP_1,
            TrainSettings.DEVICE_HELP_2, TrainSettings.DEVICE_HELP_3, "Default: ${DEFAULT-VALUE}."})
    String device;
    @Option(names = "--workers", paramLabel = "N", defaultValue = "0", description = "Loader threads (0: one per core).")
    int workers;
    @Option(names = "--view", paramLabel = "l|ab|both", description = {"A checkpoint of --views lab (CMC): the "
            + "features of its L encoder, its ab encoder, or both concatenated [L | ab] (default: both; finetune: "
            + "l or ab, required)."})
    String view;
    @Option(names = "--out", paramLabel = "FILE", description = "Where to write the JSON result "
            + "(default: CHECKPOINT-NAME.eval-PROTOCOL.json beside the checkpoint; pixels: not written).")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (RankZeroOnly.skip("eval", spec.commandLine().getErr())) return 0;
        PrintWriter stdout = spec.commandLine().getOut();
        Map<String, String> trained = checkpoint == null ? Map.of() : CheckpointEvaluation.trainedOn(checkpoint);
        String dataset = this.dataset != null ? this.dataset : trained.getOrDefault("dataset", "fashion-mnist");
        Path dir = dataDir != null ? dataDir
                : dataset.equals(trained.get("dataset")) && trained.containsKey("data_dir")
                        ? Path.of(trained.get("data_dir"))
                : dataset.equals("fashion-mnist") ? TrainSettings.FASHION_MNIST_DIR : null;
        if (dir == null) throw new IllegalArgumentException("--data-dir is required for dataset " + dataset);
        int size = imageSize != null ? imageSize
                : dataset.equals(trained.get("dataset")) ? EncoderFiles.recordedImageSize(checkpoint) : 0;
        if (protocol.equals("pixels")) {
            Map<String, Object> result = PixelBaselines.run(dataset, dir, size, limitTrain, limitTest, knnK, knnT, device,
                    workers);
            // No checkpoint to write beside: the JSON goes only where --out says, never into the working folder.
            if (out != null) CheckpointEvaluation.write(out, result);
            stdout.printf(Locale.ROOT, "pixels kNN accuracy %.4f (unit-normalised), %.4f (standardised) on %s test "
                    + "images of %s; %s%n", (Double) result.get("pixels_unit"),
                    (Double) result.get("pixels_standardised"), result.get("test_images"), dataset,
                    out != null ? "written to " + out : "--out FILE writes it as JSON");
            stdout.flush();
            return 0;
        }
        if (scratch && !protocol.equals("finetune"))
            throw new IllegalArgumentException("--scratch is for eval finetune (the supervised baseline)");
        if (scratch && checkpoint != null)
            throw new IllegalArgumentException("--scratch trains from a random initialisation: give no --checkpoint");
        if (scratch && (arch == null || out == null))
            throw new IllegalArgumentException("eval finetune --scratch needs --arch A and --out FILE (no checkpoint "
                    + "to write beside)");
        if (checkpoint == null && !scratch)
            throw new IllegalArgumentException("eval " + protocol + " needs --checkpoint FILE"
                    + (protocol.equals("finetune") ? " (or --scratch --arch A)" : ""));
        FineTune.Settings tuning = new FineTune.Settings(epochs, batch, lr, backboneLrScale, 0.9f, weightDecay, seed);
        CheckpointEvaluation.Outcome outcome = new CheckpointEvaluation(protocol, checkpoint, arch, dataset, dir, size,
                limitTrain, limitTest, knnK, knnT, epochs, lr, probe, device, workers, labelFraction, seed, tuning,
                labelSubset, view)
                .evaluate(line -> {
                    spec.commandLine().getErr().println("jmoco: eval " + protocol + ": " + line);
                    spec.commandLine().getErr().flush();
                });
        Map<String, Object> result = outcome.result();
        double fraction = outcome.subset() != null ? outcome.subset().fraction() : labelFraction;
        String suffix = ".eval-" + protocol + (view != null && !view.equalsIgnoreCase("both") ? "-" + view.toLowerCase(Locale.ROOT) : "")
                + (fraction < 1 ? "-labels" + fraction : "") + ".json";
        Path file = out != null ? out : beside(checkpoint, suffix);
        if (checkpoint != null && Files.exists(file) && Files.isSameFile(file, checkpoint))
            throw new IllegalArgumentException("--out " + file + " is the checkpoint: choose another file");
        Path subsetFile = null;
        if (outcome.subset() != null && labelSubset == null) { // a subset read from a file stays where it is
            subsetFile = beside(file, ".subset.json");
            result.put("label_subset_file", subsetFile.getFileName().toString());
            CheckpointEvaluation.writeSubset(subsetFile, outcome.subset(), dataset);
        }
        CheckpointEvaluation.write(file, result);
        stdout.printf(Locale.ROOT, "%s accuracy %.4f on %s test images of %s (%s training labels); written to %s%s%n",
                protocol, (Double) result.get("accuracy"), result.get("test_images"), dataset, result.get("train_images"),
                file, subsetFile == null ? "" : ", its label subset to " + subsetFile);
        stdout.flush();
        return 0;
    }

    /** {@code file} with its extension replaced by {@code suffix}, in the same folder. */
    static Path beside(Path file, String suffix) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return file.resolveSibling((dot > 0 ? name.substring(0, dot) : name) + suffix);
    }
}
