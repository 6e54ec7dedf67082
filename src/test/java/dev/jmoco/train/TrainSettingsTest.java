package dev.jmoco.train;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every setting of the table round-trips through a checkpoint's metadata and is validated. */
class TrainSettingsTest {
    private static final Path FILE = Path.of("run/checkpoint.safetensors");

    /** Per key: a valid value other than the default, and an invalid one with its message's fragment (or null). */
    private record Example(String good, String bad, String message) {}

    private static final Map<String, Example> EXAMPLES = new LinkedHashMap<>();
    static {
        ex("dataset", "cifar10", " ", "dataset is not set");
        ex("data_dir", "/x y", null, null);
        ex("image_size", "224", "-1", "image-size must be in [0, 4096] (0: the images' own), got -1");
        ex("skip_bad_images", "true", null, null);
        ex("limit_train", "100", "-1", "limit-train must be >= 0 (0: all), got -1");
        ex("limit_test", "100", "-1", "limit-test must be >= 0 (0: all), got -1");
        ex("arch", "resnet18", "vgg", "unknown arch 'vgg' (small, resnet18, resnet50)");
        ex("stem", "cifar", "x", "unknown stem 'x'");
        ex("head", "v1", null, null);
        ex("dim", "64", "0", "dim must be >= 1, got 0");
        ex("mechanism", "memory-bank", null, null);
        ex("epochs", "3", "0", "epochs must be >= 1, got 0");
        ex("batch", "128", "0", "batch must be >= 1, got 0");
        ex("queue", "8192", "0", "queue must be >= 1, got 0");
        ex("momentum", "0.5", "1.5", "momentum must be in [0, 1], got 1.5");
        ex("temperature", "0.07", "5", "temperature must be in [0.01, 1.0] (MoCo: 0.07 to 0.2), got 5.0");
        ex("lr", "0.03", "11", "lr must be in [0, 10.0] (the rate for batch 256; MoCo: 0.03), got 11.0");
        ex("weight_decay", "1.0E-4", "0.5", "weight decay must be in [0, 0.1] (MoCo: 1e-4), got 0.5");
        ex("decay", "all", "some", "unknown decay 'some' (weights, all)");
        ex("sgd_momentum", "0.8", "1", "SGD momentum must be in [0, 1), got 1.0");
        ex("warmup_epochs", "2", "11", "warm-up epochs 11 must lie in [0, epochs 10]");
        ex("schedule", "step", "linear", "unknown schedule 'linear' (cosine, step)");
        ex("milestones", "[3, 7]", "[5, 3]", "milestones must be increasing epochs >= 1, got [5, 3]");
        ex("bn_splits", "4", "0", "bn-splits must be >= 1, got 0");
        ex("symmetric", "true", null, null);
        ex("bank_momentum", "0.9", "2", "bank momentum must be in [0, 1], got 2.0");
        ex("views", "lab", "cmc", "unknown views 'cmc' (augment, lab)");
        ex("augmentation", "v1", "v3", "unknown augmentation 'v3' (v1, v2, cmc)");
        ex("crop_scale_min", "0.4", "0", "crop scale min must be in (0, 1], got 0.0");
        ex("blur_p", "recipe", "2", "blur probability must be in [0, 1], got 2.0");
        ex("knn_every", "0", "-1", "knn-every must be >= 0 (0: never), got -1");
        ex("knn_k", "20", "0", "knn k must be >= 1, got 0");
        ex("knn_t", "0.07", "0", "knn temperature must be > 0, got 0.0");
        ex("seed", "-5", null, null);
        ex("workers", "2", "-1", "workers must be >= 0 (0: one per core), got -1");
        ex("device", "opencl:cpu", " ", "device is not set");
        ex("collective", "mpi", "gloo", "unknown collective 'gloo' (auto, mpi, nccl)");
        ex("log_every", "1", "0", "log-every must be >= 1, got 0");
        ex("checkpoint_minutes", "0.5", "-1", "checkpoint-minutes must be >= 0 (0: at epoch ends only), got -1.0");
    }

    /** Defaults with the settings a good example needs beside it (lab views take only CMC's recipe). */
    private static TrainConfig.Builder beside(Setting<?> s) {
        TrainConfig.Builder b = TrainConfig.builder();
        return s == TrainSettings.VIEWS ? b.augmentation("cmc") : b;
    }

    private static void ex(String key, String good, String bad, String message) {
        EXAMPLES.put(key, new Example(good, bad, message));
    }

    @Test
    void everySettingHasAnExample() {
        assertEquals(TrainSettings.all().stream().map(Setting::key).toList(), List.copyOf(EXAMPLES.keySet()));
    }

    @Test
    void everySettingRoundTripsThroughCheckpointMetadata() {
        TrainConfig defaults = TrainConfig.builder().build();
        for (Setting<?> s : TrainSettings.all()) {
            TrainConfig c = beside(s).parse(s, EXAMPLES.get(s.key()).good()).build();
            assertNotEquals(defaults, c, s + ": the example is the default");
            Map<String, String> metadata = Checkpoint.configMetadata(c);
            TrainConfig back = Checkpoint.config(FILE, metadata, null);
            assertEquals(c, back, s.key());
            assertEquals(s.text(c.get(s)), s.text(back.get(s)), s.key());
            // a checkpoint written before the setting existed was trained with its default
            metadata.remove(Checkpoint.CONFIG + s.key());
            assertEquals(s.text(s.defaultValue()), s.text(Checkpoint.config(FILE, metadata, null).get(s)), s.key());
        }
    }

    @Test
    void everySettingIsValidated() {
        for (Setting<?> s : TrainSettings.all()) {
            var unset = assertThrows(IllegalArgumentException.class, () -> TrainConfig.builder().set(s, null).build());
            assertEquals(s.key().replace('_', ' ') + " is not set", unset.getMessage());
            Example e = EXAMPLES.get(s.key());
            if (e.bad() == null) continue; // every value of its type is valid
            var bad = assertThrows(IllegalArgumentException.class,
                    () -> TrainConfig.builder().parse(s, e.bad()).build(), s.key());
            assertTrue(bad.getMessage().contains(e.message()), bad.getMessage() + " lacks " + e.message());
            var saved = assertThrows(IllegalArgumentException.class, () -> Checkpoint.config(FILE,
                    Map.of(Checkpoint.CONFIG + s.key(), e.bad()), null), s.key());
            assertTrue(saved.getMessage().startsWith(FILE + ": checkpoint settings: ") && saved.getMessage()
                    .contains(e.message()), saved.getMessage());
        }
    }

    @Test
    void theContrastiveStepTakesTheTablesValues() {
        var m = TrainConfig.builder().build().mocoConfig(0);
        assertEquals(TrainSettings.TEMPERATURE.defaultValue(), m.temperature());
        assertEquals(TrainSettings.MOMENTUM.defaultValue(), m.momentum());
        assertEquals(TrainSettings.BANK_MOMENTUM.defaultValue(), m.bankMomentum());
        assertEquals(TrainSettings.QUEUE.defaultValue(), m.queueSize());
        assertEquals(0.07f, TrainConfig.builder().temperature(0.07f).build().mocoConfig(0).temperature());
    }
}
