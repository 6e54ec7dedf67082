package dev.jmoco.train;

import dev.jmoco.moco.Mechanism;
import dev.jmoco.nn.HeadKind;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

import static dev.jmoco.train.Setting.oneOf;

/**
 * The table of training settings: each setting's name, option, help, default and range, once. The defaults are
 * the Fashion-MNIST recipe for the small CNN: batch 256, K 4096, m 0.99, t 0.2, lr 0.06 (x batch/256) cosine,
 * wd 5e-4 on weights only, 8 BN splits, v2 augmentation without blur, 10 epochs. The order is that of
 * checkpoint.json and of {@code train --help}. Checks that relate two settings are {@link TrainConfig}'s.
 */
public final class TrainSettings {
    private TrainSettings() {}

    /** Sane ranges of settings that, outside them, train to garbage without failing (see {@link TrainConfig}). */
    public static final float MIN_TEMPERATURE = 0.01f, MAX_TEMPERATURE = 1f;
    public static final double MAX_LR = 10, MAX_WEIGHT_DECAY = 0.1;

    /** Where Debian's dataset-fashion-mnist package puts the files. */
    public static final Path FASHION_MNIST_DIR = Path.of("/usr/share/datasets/fashion-mnist");

    /** The help lines of every command's {@code --device}, one per line: picocli's wrapping
     * would break a name at its colon (opencl: cpu). */
    public static final String DEVICE_HELP_1 = "auto (best that runs here), cpu, opencl, opencl:cpu,",
            DEVICE_HELP_2 = "cuda[:N][:kernels][:tf32][:portable][:profile];",
            DEVICE_HELP_3 = "`jmoco devices` lists what runs here.";

    private static final List<Setting<?>> TABLE = new ArrayList<>();

    public static final Setting<String> DATASET = add(string("dataset", "--dataset", "KIND", "fashion-mnist",
            "fashion-mnist, mnist, cifar10, cifar100, folder", v -> v.isBlank() ? "dataset is not set" : null));
    public static final Setting<Path> DATA_DIR = add(new Setting<>(Path.class, "data_dir", "--data-dir", "DIR",
            FASHION_MNIST_DIR, "Folder of the data set's files.", Path::of, Path::toString, v -> null));
    public static final Setting<Integer> IMAGE_SIZE = add(integer("image_size", "--image-size", "N", 0,
            "Image folders: side of the training crops and of the\nevaluation centre crops (0: the images' own size,\n"
                    + "which they must share).",
            v -> v >= 0 && v <= 4096 ? null : "image-size must be in [0, 4096] (0: the images' own), got " + v));
    public static final Setting<Boolean> SKIP_BAD_IMAGES = add(new Setting<>(Boolean.class, "skip_bad_images",
            "--skip-bad-images", "BOOL", false, "Image folders: replace an image that cannot be decoded\nby the next "
            + "one that can, and count it (stderr, summary.json);\nfalse: the run stops, naming it.",
            Boolean::parseBoolean, v -> v, v -> null));
    public static final Setting<Integer> LIMIT_TRAIN = add(integer("limit_train", "--limit-train", "N", 0,
            "Train on the first N images only (0: all); they are also the kNN bank.",
            v -> v >= 0 ? null : "limit-train must be >= 0 (0: all), got " + v));
    public static final Setting<Integer> LIMIT_TEST = add(integer("limit_test", "--limit-test", "N", 0,
            "kNN queries: the first N test images only (0: all).",
            v -> v >= 0 ? null : "limit-test must be >= 0 (0: all), got " + v));
    public static final Setting<String> ARCH = add(string("arch", "--arch", "A", "small", "small, resnet18, resnet50",
            oneOf("arch", "small", "resnet18", "resnet50")));
    public static final Setting<String> STEM = add(string("stem", "--stem", "S", "auto",
            "ResNet stem: auto (CIFAR stem up to 64 px), cifar, imagenet", oneOf("stem", "auto", "cifar", "imagenet")));
    public static final Setting<HeadKind> HEAD = add(new Setting<>(HeadKind.class, "head", "--head", "v1|v2|bn",
            HeadKind.V2, "Projection head: v1 linear, v2 MLP, bn MLP with\nbatch norm (the default with --views lab).",
            TrainSettings::headKind,
            h -> h.name().toLowerCase(Locale.ROOT), v -> null));
    public static final Setting<Integer> DIM = add(integer("dim", "--dim", "C", 128, "Feature dimension.",
            v -> v >= 1 ? null : "dim must be >= 1, got " + v));
    public static final Setting<Mechanism> MECHANISM = add(new Setting<>(Mechanism.class, "mechanism", "--mechanism",
            "M", Mechanism.MOCO, "moco, end-to-end, memory-bank", Mechanism::parse, Mechanism::cliName, v -> null));
    public static final Setting<Integer> EPOCHS = add(integer("epochs", "--epochs", "N", 10,
            "Total epochs (a resumed run continues up to it).", v -> v >= 1 ? null : "epochs must be >= 1, got " + v));
    public static final Setting<Integer> BATCH = add(integer("batch", "--batch", "N", 256, "Images per step.",
            v -> v >= 1 ? null : "batch must be >= 1, got " + v));
    public static final Setting<Integer> QUEUE = add(integer("queue", "--queue", "K", 4096,
            "Queue size K (memory bank: negatives per step).", v -> v >= 1 ? null : "queue must be >= 1, got " + v));
    public static final Setting<Float> MOMENTUM = add(floating("momentum", "--momentum", "M", 0.99f,
            "Key encoder momentum m.", v -> v >= 0 && v <= 1 ? null : "momentum must be in [0, 1], got " + v));
    public static final Setting<Float> TEMPERATURE = add(floating("temperature", "--temperature", "T", 0.2f,
            "InfoNCE temperature t.", v -> v >= MIN_TEMPERATURE && v <= MAX_TEMPERATURE ? null
                    : "temperature must be in [" + MIN_TEMPERATURE + ", " + MAX_TEMPERATURE + "] (MoCo: 0.07 to 0.2), got " + v));
    public static final Setting<Double> LR = add(real("lr", "--lr", "LR", 0.06,
            "Base learning rate for batch 256 (scaled by batch/256).", v -> v >= 0 && v <= MAX_LR ? null
                    : "lr must be in [0, " + MAX_LR + "] (the rate for batch 256; MoCo: 0.03), got " + v));
    public static final Setting<Double> WEIGHT_DECAY = add(real("weight_decay", "--wd", "WD", 5e-4, "Weight decay.",
            v -> v >= 0 && v <= MAX_WEIGHT_DECAY ? null
                    : "weight decay must be in [0, " + MAX_WEIGHT_DECAY + "] (MoCo: 1e-4), got " + v));
    public static final Setting<String> DECAY = add(string("decay", "--decay", "weights|all", "weights",
            "What weight decay applies to: weights (conv and linear weights; biases and batch norm exempt) or all "
                    + "(every parameter, as facebookresearch/moco).", oneOf("decay", "weights", "all")));
    public static final Setting<Double> SGD_MOMENTUM = add(real("sgd_momentum", "--sgd-momentum", "M", 0.9,
            "SGD momentum.", v -> v >= 0 && v < 1 ? null : "SGD momentum must be in [0, 1), got " + v));
    public static final Setting<Integer> WARMUP_EPOCHS = add(integer("warmup_epochs", "--warmup", "E", 0,
            "Warm-up epochs.", v -> null)); // its range depends on epochs: TrainConfig checks it
    public static final Setting<String> SCHEDULE = add(string("schedule", "--schedule", "S", "cosine",
            "cosine (per epoch, MoCo v2) or step (lr x0.1 at each milestone)", oneOf("schedule", "cosine", "step")));
    public static final Setting<int[]> MILESTONES = add(new Setting<>(int[].class, "milestones", "--milestones", "E",
            new int[0], "Step schedule: epochs of lr x0.1.", TrainSettings::ints, int[]::clone, TrainSettings::increasing));
    public static final Setting<Integer> BN_SPLITS = add(integer("bn_splits", "--bn-splits", "S", 8,
            "Shuffle-BN groups; the batch must divide by it.", v -> v >= 1 ? null : "bn-splits must be >= 1, got " + v));
    public static final Setting<Boolean> SYMMETRIC = add(new Setting<>(Boolean.class, "symmetric", "--symmetric",
            "BOOL", false, "Symmetric loss (MoCo).", Boolean::parseBoolean, v -> v, v -> null));
    public static final Setting<Float> BANK_MOMENTUM = add(floating("bank_momentum", "--bank-momentum", "M", 0.5f,
            "Memory bank: v = m v + (1 - m) q per update (Wu et al.).",
            v -> v >= 0 && v <= 1 ? null : "bank momentum must be in [0, 1], got " + v));
    public static final Setting<String> VIEWS = add(string("views", "--views", "augment|lab", "augment",
            "What is contrasted: augment (two augmentations of each\nimage, MoCo) or lab (the L and ab channels of one,\n"
                    + "an encoder pair and a queue each: CMC; colour\nimages; --aug then defaults to cmc, --head to bn).",
            oneOf("views", "augment", "lab")));
    public static final Setting<String> AUGMENTATION = add(string("augmentation", "--aug", "v1|v2|cmc", "v2",
            "Augmentation recipe (cmc: crop and flip only).", oneOf("augmentation", "v1", "v2", "cmc")));
    public static final Setting<Double> CROP_SCALE_MIN = add(override("crop_scale_min", "--crop-min", "S", Double.NaN,
            "Smallest crop area fraction (recipe: 0.2).",
            v -> v > 0 && v <= 1 ? null : "crop scale min must be in (0, 1], got " + v));
    public static final Setting<Double> BLUR_P = add(override("blur_p", "--blur-p", "P", 0.0,
            "Blur probability (v2 recipe: 0.5).", v -> v >= 0 && v <= 1 ? null
                    : "blur probability must be in [0, 1], got " + v));
    public static final Setting<Integer> KNN_EVERY = add(integer("knn_every", "--knn-every", "E", 1,
            "kNN monitor every E epochs and after the last (0: off).",
            v -> v >= 0 ? null : "knn-every must be >= 0 (0: never), got " + v));
    public static final Setting<Integer> KNN_K = add(integer("knn_k", "--knn-k", "K", 200, "kNN neighbours.",
            v -> v >= 1 ? null : "knn k must be >= 1, got " + v));
    public static final Setting<Float> KNN_T = add(floating("knn_t", "--knn-t", "T", 0.1f, "kNN temperature.",
            v -> v > 0 && Float.isFinite(v) ? null : "knn temperature must be > 0, got " + v));
    public static final Setting<Long> SEED = add(new Setting<>(Long.class, "seed", "--seed", "S", 0L,
            "Seed of every random choice.", Long::parseLong, v -> v, v -> null)); // every seed is one
    public static final Setting<Integer> WORKERS = add(integer("workers", "--workers", "N", 0,
            "Loader threads (0: one per core).", v -> v >= 0 ? null : "workers must be >= 0 (0: one per core), got " + v));
    public static final Setting<String> DEVICE = add(string("device", "--device", "D", "auto", String.join("\n",
            DEVICE_HELP_1, DEVICE_HELP_2, DEVICE_HELP_3), v -> v.isBlank() ? "device is not set" : null));
    public static final Setting<String> COLLECTIVE = add(string("collective", "--collective", "C", "auto",
            "Under mpirun/srun: what carries gradients and keys:\nauto (NCCL on CUDA where every rank has it, else MPI),"
                    + "\nmpi (host memory), nccl.", oneOf("collective", "auto", "mpi", "nccl")));
    public static final Setting<Integer> LOG_EVERY = add(integer("log_every", "--log-every", "N", 10,
            "A metrics.csv row every N steps.", v -> v >= 1 ? null : "log-every must be >= 1, got " + v));
    public static final Setting<Double> CHECKPOINT_MINUTES = add(real("checkpoint_minutes", "--checkpoint-minutes",
            "M", 10.0, "Also checkpoint inside an epoch every M minutes (0: at epoch ends only); --resume continues "
                    + "from the last one exactly.", v -> v >= 0 && Double.isFinite(v) ? null
                    : "checkpoint-minutes must be >= 0 (0: at epoch ends only), got " + v));

    /** Every setting, in the table's order. */
    public static List<Setting<?>> all() { return Collections.unmodifiableList(TABLE); }

    private static <T> Setting<T> add(Setting<T> s) {
        TABLE.add(s);
        return s;
    }

    private static Setting<Integer> integer(String key, String option, String label, int def, String help,
                                            Function<Integer, String> check) {
        return new Setting<>(Integer.class, key, option, label, def, help, Integer::parseInt, v -> v, check);
    }

    private static Setting<Float> floating(String key, String option, String label, float def, String help,
                                           Function<Float, String> check) {
        return new Setting<>(Float.class, key, option, label, def, help, Float::parseFloat, v -> (double) v, check);
    }

    private static Setting<Double> real(String key, String option, String label, double def, String help,
                                        Function<Double, String> check) {
        return new Setting<>(Double.class, key, option, label, def, help, Double::parseDouble, v -> v, check);
    }

    /** A number overriding the recipe's; NaN (written "recipe") keeps the recipe's. */
    private static Setting<Double> override(String key, String option, String label, double def, String help,
                                            Function<Double, String> check) {
        return new Setting<>(Double.class, key, option, label, def, help,
                s -> s.equals("recipe") ? Double.NaN : Double.parseDouble(s), v -> v.isNaN() ? "recipe" : v,
                v -> v.isNaN() ? null : check.apply(v));
    }

    private static Setting<String> string(String key, String option, String label, String def, String help,
                                          Function<String, String> check) {
        return new Setting<>(String.class, key, option, label, def, help, s -> s, v -> v, check);
    }

    static HeadKind headKind(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "v1" -> HeadKind.V1;
            case "v2" -> HeadKind.V2;
            case "bn" -> HeadKind.BN;
            default -> throw new IllegalArgumentException("unknown head '" + name + "' (v1, v2, bn)");
        };
    }

    private static int[] ints(String s) {
        String body = s.replaceAll("[\\[\\]\\s]", "");
        return body.isEmpty() ? new int[0] : Arrays.stream(body.split(",")).mapToInt(Integer::parseInt).toArray();
    }

    private static String increasing(int[] m) {
        for (int i = 0; i < m.length; i++)
            if (m[i] < 1 || (i > 0 && m[i] <= m[i - 1]))
                return "milestones must be increasing epochs >= 1, got " + Arrays.toString(m);
        return null;
    }
}
