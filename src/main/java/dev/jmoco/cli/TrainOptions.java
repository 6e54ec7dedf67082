package dev.jmoco.cli;

import dev.jmoco.moco.Mechanism;
import dev.jmoco.nn.HeadKind;
import dev.jmoco.train.TrainConfig;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * The settings of a training run as command-line options, shared by {@code train} and {@code profile}; each is
 * optional (null: not given), and {@link #apply} sets the given ones on a {@link TrainConfig.Builder}.
 */
final class TrainOptions {
    @Option(names = "--dataset", paramLabel = "KIND", description = "fashion-mnist, mnist, cifar10, cifar100, folder")
    String dataset;
    @Option(names = "--data-dir", paramLabel = "DIR", description = "Folder of the data set's files.")
    Path dataDir;
    @Option(names = "--arch", paramLabel = "A", description = "small, resnet18, resnet50")
    String arch;
    @Option(names = "--stem", paramLabel = "S", description = "ResNet stem: auto (CIFAR stem up to 64 px), cifar, imagenet")
    String stem;
    @Option(names = "--head", paramLabel = "v1|v2", description = "Projection head: v1 linear, v2 MLP.")
    String head;
    @Option(names = "--dim", paramLabel = "C", description = "Feature dimension (128).")
    Integer dim;
    @Option(names = "--mechanism", paramLabel = "M", description = "moco, end-to-end, memory-bank")
    String mechanism;
    @Option(names = "--epochs", paramLabel = "N", description = "Total epochs (a resumed run continues up to it).")
    Integer epochs;
    @Option(names = "--batch", paramLabel = "N", description = "Images per step.")
    Integer batch;
    @Option(names = "--queue", paramLabel = "K", description = "Queue size (memory bank: negatives per step).")
    Integer queue;
    @Option(names = "--momentum", paramLabel = "M", description = "Key encoder momentum m.")
    Float momentum;
    @Option(names = "--temperature", paramLabel = "T", description = "InfoNCE temperature t.")
    Float temperature;
    @Option(names = "--lr", paramLabel = "LR", description = "Base learning rate for batch 256 (scaled by batch/256).")
    Double lr;
    @Option(names = "--wd", paramLabel = "WD", description = "Weight decay.")
    Double weightDecay;
    @Option(names = "--sgd-momentum", paramLabel = "M", description = "SGD momentum (0.9).")
    Double sgdMomentum;
    @Option(names = "--warmup", paramLabel = "E", description = "Warm-up epochs.")
    Integer warmup;
    @Option(names = "--schedule", paramLabel = "S", description = "cosine or step")
    String schedule;
    @Option(names = "--milestones", paramLabel = "E", split = ",", description = "Step schedule: epochs of lr x0.1.")
    int[] milestones;
    @Option(names = "--bn-splits", paramLabel = "S", description = "Shuffle-BN groups; the batch must divide by it.")
    Integer bnSplits;
    @Option(names = "--symmetric", paramLabel = "BOOL", arity = "0..1", fallbackValue = "true",
            description = "Symmetric loss (MoCo).")
    Boolean symmetric;
    @Option(names = "--aug", paramLabel = "v1|v2", description = "Augmentation recipe.")
    String augmentation;
    @Option(names = "--crop-min", paramLabel = "S", description = "Smallest crop area fraction (recipe: 0.2).")
    Double cropMin;
    @Option(names = "--blur-p", paramLabel = "P", description = "Blur probability (default 0; v2 recipe: 0.5).")
    Double blurP;
    @Option(names = "--knn-every", paramLabel = "E", description = "kNN monitor every E epochs and after the last (0: off).")
    Integer knnEvery;
    @Option(names = "--knn-k", paramLabel = "K", description = "kNN neighbours (200).")
    Integer knnK;
    @Option(names = "--knn-t", paramLabel = "T", description = "kNN temperature (0.1).")
    Float knnT;
    @Option(names = "--limit-train", paramLabel = "N", description = "Train on the first N images only.")
    Integer limitTrain;
    @Option(names = "--limit-test", paramLabel = "N", description = "kNN queries: the first N test images only.")
    Integer limitTest;
    @Option(names = "--seed", paramLabel = "S", description = "Seed of every random choice.")
    Long seed;
    @Option(names = "--device", paramLabel = "D", description = Main.DEVICE_HELP)
    String device;
    @Option(names = "--workers", paramLabel = "N", description = "Loader threads (0: one per core).")
    Integer workers;
    @Option(names = "--log-every", paramLabel = "N", description = "A metrics.csv row every N steps (10).")
    Integer logEvery;
    @Option(names = "--checkpoint-minutes", paramLabel = "M", description = "Also checkpoint inside an epoch every M "
            + "minutes (10; 0: at epoch ends only); --resume continues from the last one exactly.")
    Double checkpointMinutes;
    /** Sets on {@code b} every option given on the command line (null fields were not given). */
    /** Refuses a data set other than Fashion-MNIST without its folder (the default folder holds Fashion-MNIST). */
    void requireDataDir() {
        if (dataset != null && !dataset.equals("fashion-mnist") && dataDir == null)
            throw new IllegalArgumentException("--data-dir is required for dataset " + dataset
                    + " (the default folder holds Fashion-MNIST)");
    }

    void apply(TrainConfig.Builder b) {
        set(dataset, b::dataset);
        set(dataDir, b::dataDir);
        set(arch, b::arch);
        set(stem, b::stem);
        set(head, h -> b.head(headKind(h)));
        set(dim, b::dim);
        set(mechanism, m -> b.mechanism(Mechanism.parse(m)));
        set(epochs, b::epochs);
        set(batch, b::batch);
        set(queue, b::queue);
        set(momentum, b::momentum);
        set(temperature, b::temperature);
        set(lr, b::lr);
        set(weightDecay, b::weightDecay);
        set(sgdMomentum, b::sgdMomentum);
        set(warmup, b::warmupEpochs);
        set(schedule, b::schedule);
        set(milestones, b::milestones);
        set(bnSplits, b::bnSplits);
        set(symmetric, b::symmetric);
        set(augmentation, b::augmentation);
        set(cropMin, b::cropScaleMin);
        set(blurP, b::blurP);
        set(knnEvery, b::knnEvery);
        set(knnK, b::knnK);
        set(knnT, b::knnT);
        set(limitTrain, b::limitTrain);
        set(limitTest, b::limitTest);
        set(seed, b::seed);
        set(device, b::device);
        set(workers, b::workers);
        set(logEvery, b::logEvery);
        set(checkpointMinutes, b::checkpointMinutes);
    }

    private static <T> void set(T value, Consumer<T> setter) {
        if (value != null) setter.accept(value);
    }

    private static HeadKind headKind(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "v1" -> HeadKind.V1;
            case "v2" -> HeadKind.V2;
            default -> throw new IllegalArgumentException("unknown head '" + name + "' (v1, v2)");
        };
    }
}
