package dev.jmoco.train;

import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.data.Normalization;
import dev.jmoco.optim.Sgd;
import dev.jmoco.backend.Buffer;
import dev.jmoco.io.Json;
import dev.jmoco.io.Safetensors;
import dev.jmoco.moco.KeyQueue;
import dev.jmoco.moco.MemoryBank;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The checkpoint of a run, two files in the output folder, each replaced atomically at every epoch end and,
 * inside long epochs, every {@code checkpointMinutes} (then also recording how far the epoch got, so resume
 * continues at the next batch):
 * <ul>
 *   <li>{@code checkpoint.safetensors}: {@code encoder_q.<name>} and, for MoCo, {@code encoder_k.<name>} for
 *       every parameter and batch-norm running statistic (torchvision names, as the reference MoCo
 *       checkpoints); {@code optimizer.momentum.<name>}, SGD's velocity of each parameter; for MoCo
 *       {@code queue} [K, dim] (one key per row) and {@code queue_ptr} (I64 [1]); for the memory bank
 *       {@code memory_bank} [N, dim]; for lab views (CMC) these are the L view's, and the ab view's are the same
 *       names after {@code ab.} ({@code ab.encoder_q.<name>}, ..., {@code ab.queue}). Its metadata holds the state needed to resume: architecture id,
 *       epochs done, global step, the epoch in progress ({@link EpochProgress}), seed, training wall time
 *       and every setting ({@code config.<key>}), so this
 *       one file is self-contained and resume never reads two files that a crash could have left out of step.
 *   <li>{@code checkpoint.json}: the same state for people and tools (written after the safetensors file).
 * </ul>
 * <h2>Random state</h2> Every random choice of a run is a pure function of the seed and a position: the
 * encoder initialisation and the queue of (seed); the loader's epoch order of (seed, epoch) and each view's
 * augmentation of (seed, epoch, sample, view) ({@code dev.jmoco.data.SampleRandom}); the shuffle-BN
 * permutations and memory-bank samples of (seed, step, draw) ({@code dev.jmoco.moco.StepRandom}). No
 * generator carries state across steps, so (seed, epoch, global step) is the whole RNG state.
 */
final class Checkpoint {
    static final String FILE = "checkpoint.safetensors", JSON = "checkpoint.json";
    static final String FORMAT = "format", FORMAT_VALUE = "jmoco-checkpoint-1", ARCHITECTURE = "architecture",
            EPOCH = "epoch", GLOBAL_STEP = "global_step", SEED = "seed", WALL = "wall_s", CONFIG = "config.",
            HISTORY = "history", CLASSES = "classes", NORMALIZATION = "normalization",
            RANKS = "ranks", AB = "ab.";
    static final String Q = "encoder_q.", K = "encoder_k.", MOMENTUM = "optimizer.momentum.", QUEUE = "queue",
            QUEUE_PTR = "queue_ptr", BANK = "memory_bank";

    /**
     * The run state after {@code epoch} whole epochs and {@code progress.steps()} steps of the next one (0 at
     * an epoch end). {@code key}, {@code queue}, {@code bank} and {@code ab} are null where unused.
     */
    record State(TrainConfig config, String architecture, int epoch, long globalStep, double wallSeconds,
                 EpochProgress progress, ParameterArena query, ParameterArena key, Sgd sgd, KeyQueue queue,
                 MemoryBank bank, List<EpochResult> history, List<String> classes, Normalization normalization,
                 int ranks, AbState ab) {}

    /** The ab view's part of a lab run's state: its architecture id, f_q, f_k, f_q's Sgd and its queue. */
    record AbState(String architecture, ParameterArena query, ParameterArena key, Sgd sgd, KeyQueue queue) {}

    /**
     * How far the epoch in progress got: its steps, the sums of their loss and accuracies (for the epoch's
     * metrics row) and its seconds so far (for its images/s).
     */
    record EpochProgress(int steps, double lossSum, double acc1Sum, double acc5Sum, double seconds) {
        static final EpochProgress NONE = new EpochProgress(0, 0, 0, 0, 0);
        static final String STEPS = "epoch_steps", LOSS = "epoch_loss_sum", ACC1 = "epoch_acc1_sum",
                ACC5 = "epoch_acc5_sum", SECONDS = "epoch_seconds";

        void write(Map<String, String> metadata) {
            metadata.put(STEPS, Integer.toString(steps));
            metadata.put(LOSS, Double.toString(lossSum));
            metadata.put(ACC1, Double.toString(acc1Sum));
            metadata.put(ACC5, Double.toString(acc5Sum));
            metadata.put(SECONDS, Double.toString(seconds));
        }

        /** From a checkpoint's metadata; NONE for checkpoints written at epoch ends only. */
        static EpochProgress read(Path file, Map<String, String> metadata) {
            if (!metadata.containsKey(STEPS)) return NONE;
            return new EpochProgress(intField(file, metadata, STEPS), doubleField(file, metadata, LOSS),
                    doubleField(file, metadata, ACC1), doubleField(file, metadata, ACC5),
                    doubleField(file, metadata, SECONDS));
        }
    }

    private Checkpoint() {}

    /** Writes both files into {@code dir} (created if needed), each atomically. */
    static void write(Path dir, State s) throws IOException {
        Files.createDirectories(dir);
        Map<String, Safetensors.Tensor> tensors = new LinkedHashMap<>();
        putView(tensors, "", s.query(), s.key(), s.sgd(), s.queue());
        if (s.ab() != null) putView(tensors, AB, s.ab().query(), s.ab().key(), s.ab().sgd(), s.ab().queue());
        if (s.bank() != null)
            tensors.put(BANK, Safetensors.Tensor.of(s.bank().toArray(), s.bank().size(), s.bank().dim()));
        requireFinite(tensors);
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put(FORMAT, FORMAT_VALUE);
        metadata.put(ARCHITECTURE, s.architecture());
        if (s.ab() != null) metadata.put(AB + ARCHITECTURE, s.ab().architecture());
        metadata.put(EPOCH, Integer.toString(s.epoch()));
        metadata.put(GLOBAL_STEP, Long.toString(s.globalStep()));
        metadata.put(SEED, Long.toString(s.config().seed()));
        metadata.put(WALL, Double.toString(s.wallSeconds()));
        s.progress().write(metadata);
        metadata.put(HISTORY, JsonText.of(s.history().stream().map(EpochResult::toMap).toList()));
        if (!s.classes().isEmpty()) metadata.put(CLASSES, JsonText.of(s.classes()));
        metadata.put(NORMALIZATION, normalizationJson(s.normalization()));
        metadata.put(RANKS, Integer.toString(s.ranks()));
        metadata.putAll(configMetadata(s.config()));
        Map<String, Object> config = s.config().asMap();
        Safetensors.write(dir.resolve(FILE), tensors, metadata);

        Map<String, Object> json = new LinkedHashMap<>();
        json.put(FORMAT, FORMAT_VALUE);
        json.put(ARCHITECTURE, s.architecture());
        if (s.ab() != null) json.put(AB + ARCHITECTURE, s.ab().architecture());
        json.put(EPOCH, s.epoch());
        json.put(GLOBAL_STEP, s.globalStep());
        json.put(EpochProgress.STEPS, s.progress().steps());
        if (s.queue() != null) json.put(QUEUE_PTR, s.queue().pointer());
        json.put(WALL, s.wallSeconds());
        json.put("rng", Map.of(SEED, s.config().seed(), "note", "every random choice is a function of (seed, "
                + "epoch, global_step, sample index), so seed and step are the whole RNG state"));
        json.put("config", config);
        JsonText.write(dir.resolve(JSON), json);
    }

    /**
     * Reads {@code dir}'s checkpoint.safetensors.
     *
     * @throws IOException if it is missing or unreadable, or is not a jmoco checkpoint (the message says which)
     */
    static Safetensors.Contents read(Path dir) throws IOException {
        Path file = requireFile(dir);
        Safetensors.Contents c = Safetensors.read(file);
        requireFormat(file, c.metadata());
        return c;
    }

    /**
     * The finished epochs a checkpoint records, oldest first; empty for checkpoints older than this field
     * (their epochs are read back from metrics.csv).
     *
     * @throws IllegalArgumentException naming the file and the field when it does not parse
     */
    static List<EpochResult> history(Path file, Map<String, String> metadata) {
        String text = metadata.get(HISTORY);
        if (text == null) return List.of();
        try {
            if (!(Json.parse(text) instanceof List<?> list)) throw new IllegalArgumentException("not a JSON array");
            List<EpochResult> out = new ArrayList<>();
            for (Object e : list) {
                if (!(e instanceof Map<?, ?> m)) throw new IllegalArgumentException("an entry is not a JSON object");
                out.add(EpochResult.fromMap(m));
            }
            return out;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": checkpoint field " + HISTORY + ": " + e.getMessage(), e);
        }
    }

    /** {"mean": [...], "std": [...]}: what the encoder's inputs were normalised with (embed applies it to images). */
    static String normalizationJson(Normalization n) {
        List<Double> mean = new ArrayList<>(), std = new ArrayList<>();
        for (int c = 0; c < n.channels(); c++) { mean.add((double) n.mean(c)); std.add((double) n.std(c)); }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("mean", mean);
        m.put("std", std);
        return JsonText.of(m);
    }

    /**
     * The normalisation a checkpoint records; null for checkpoints older than this field.
     *
     * @throws IllegalArgumentException naming the file and the field when it does not parse
     */
    static Normalization normalization(Path file, Map<String, String> metadata) {
        String text = metadata.get(NORMALIZATION);
        if (text == null) return null;
        try {
            if (Json.parse(text) instanceof Map<?, ?> m && m.get("mean") instanceof List<?> mean
                    && m.get("std") instanceof List<?> std && mean.size() == std.size()) {
                double[] ms = new double[mean.size()], ss = new double[std.size()];
                for (int c = 0; c < ms.length; c++) {
                    ms[c] = ((Number) mean.get(c)).doubleValue();
                    ss[c] = ((Number) std.get(c)).doubleValue();
                }
                return Normalization.of(ms, ss);
            }
        } catch (IllegalArgumentException | ClassCastException e) {
            // named below
        }
        throw new IllegalArgumentException(file + ": checkpoint field " + NORMALIZATION
                + " is not {\"mean\": [...], \"std\": [...]} of one length");
    }

    /** The class names of the training split a checkpoint records; empty when its data set has none. */
    static List<String> classes(Path file, Map<String, String> metadata) {
        String text = metadata.get(CLASSES);
        if (text == null) return List.of();
        try {
            if (Json.parse(text) instanceof List<?> list && list.stream().allMatch(String.class::isInstance))
                return list.stream().map(String.class::cast).toList();
        } catch (IllegalArgumentException e) {
            // named below
        }
        throw new IllegalArgumentException(file + ": checkpoint field " + CLASSES + " is not a JSON array of names");
    }

    /** An int field of the metadata, naming the file and the field when it is missing or not an int. */
    static int intField(Path file, Map<String, String> metadata, String key) {
        return (int) (long) parse(file, metadata, key, "an integer", Long::parseLong, (long) Integer.MIN_VALUE,
                (long) Integer.MAX_VALUE);
    }

    /** A long field of the metadata, as {@link #intField}. */
    static long longField(Path file, Map<String, String> metadata, String key) {
        return parse(file, metadata, key, "an integer", Long::parseLong, Long.MIN_VALUE, Long.MAX_VALUE);
    }

    /** A finite double field of the metadata, as {@link #intField}. */
    static double doubleField(Path file, Map<String, String> metadata, String key) {
        return parse(file, metadata, key, "a number", Double::parseDouble, -Double.MAX_VALUE, Double.MAX_VALUE);
    }

    private static <T extends Comparable<T>> T parse(Path file, Map<String, String> metadata, String key,
                                                     String what, java.util.function.Function<String, T> parser,
                                                     T min, T max) {
        String text = metadata.get(key);
        if (text == null) throw new IllegalArgumentException(file + ": checkpoint field " + key + " is missing");
        T v;
        try {
            v = parser.apply(text.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(file + ": checkpoint field " + key + " = '" + Json.visible(text)
                    + "' is not " + what);
        }
        if (v.compareTo(min) < 0 || v.compareTo(max) > 0)
            throw new IllegalArgumentException(file + ": checkpoint field " + key + " = " + v + " is out of range");
        return v;
    }


    /** Refuses a safetensors file that is not a jmoco training checkpoint. */
    static void requireFormat(Path file, Map<String, String> metadata) throws IOException {
        if (!FORMAT_VALUE.equals(metadata.get(FORMAT)))
            throw new IOException(file + ": not a jmoco training checkpoint (metadata format is "
                    + Json.visible(String.valueOf(metadata.get(FORMAT))) + ", expected " + FORMAT_VALUE + ")");
    }

    /** {@code dir}'s checkpoint.safetensors, which must exist. */
    static Path requireFile(Path dir) throws NoSuchFileException {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file))
            throw new NoSuchFileException(file.toString(), null, "no checkpoint to resume from (expected "
                    + FILE + " in " + dir + ")");
        return file;
    }

    /** The settings as the metadata records them: {@code config.KEY} to the text of each asMap value. */
    static Map<String, String> configMetadata(TrainConfig config) {
        Map<String, String> m = new LinkedHashMap<>();
        config.asMap().forEach((k, v) -> m.put(CONFIG + k, v instanceof int[] a ? Arrays.toString(a) : v.toString()));
        return m;
    }

    /**
     * The settings recorded in {@code file}'s metadata, with {@code outDir}.
     *
     * @throws IllegalArgumentException naming the file and the setting that does not parse or is out of range
     */
    static TrainConfig config(Path file, Map<String, String> metadata, Path outDir) {
        Map<String, String> values = new LinkedHashMap<>();
        metadata.forEach((k, v) -> { if (k.startsWith(CONFIG)) values.put(k.substring(CONFIG.length()), v); });
        try {
            return TrainConfig.fromStrings(values, outDir);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": checkpoint settings: " + e.getMessage(), e);
        }
    }

    /**
     * What a checkpoint's metadata says of its run, every field parsed and checked in one place (resume and
     * the fuzz tests use this).
     */
    record Saved(String architecture, TrainConfig config, int epoch, long globalStep, EpochProgress progress,
                 List<EpochResult> history, List<String> classes, double wallSeconds, int ranks) {

        /** @throws IllegalArgumentException naming {@code file} and the field that is missing, malformed or inconsistent */
        static Saved parse(Path file, Map<String, String> metadata, Path outDir) {
            String architecture = metadata.get(ARCHITECTURE);
            if (architecture == null)
                throw new IllegalArgumentException(file + ": checkpoint field " + ARCHITECTURE + " is missing");
            TrainConfig config = Checkpoint.config(file, metadata, outDir);
            int epoch = intField(file, metadata, EPOCH);
            long step = longField(file, metadata, GLOBAL_STEP);
            if (epoch < 0 || step < 0)
                throw new IllegalArgumentException(file + ": checkpoint fields " + EPOCH + " " + epoch + " and "
                        + GLOBAL_STEP + " " + step + " must be >= 0");
            EpochProgress progress = EpochProgress.read(file, metadata);
            if (progress.steps() < 0)
                throw new IllegalArgumentException(file + ": checkpoint field " + EpochProgress.STEPS + " "
                        + progress.steps() + " must be >= 0");
            List<EpochResult> history = Checkpoint.history(file, metadata);
            if (!history.isEmpty() && (history.size() != epoch || history.getLast().epoch() != epoch))
                throw new IllegalArgumentException(file + ": checkpoint field " + HISTORY + " holds "
                        + history.size() + " epochs, its field " + EPOCH + " says " + epoch);
            double wall = metadata.containsKey(WALL) ? doubleField(file, metadata, WALL) : 0;
            int ranks = metadata.containsKey(RANKS) ? intField(file, metadata, RANKS) : 1; // before data-parallel runs
            if (ranks < 1)
                throw new IllegalArgumentException(file + ": checkpoint field " + RANKS + " " + ranks + " must be >= 1");
            return new Saved(architecture, config, epoch, step, progress, history, Checkpoint.classes(file, metadata),
                    wall, ranks);
        }
    }

    /**
     * Restores one view's f_q (and f_k, the queue when given) and SGD's velocity from {@code c}, its tensors named
     * after {@code prefix} ("" or {@link #AB}).
     */
    static void restoreView(Path file, Safetensors.Contents c, String prefix, ParameterArena query, ParameterArena key,
                            Sgd sgd, KeyQueue queue) {
        EncoderFiles.load(file, c.tensors(), query, List.of(prefix + Q));
        if (key != null) EncoderFiles.load(file, c.tensors(), key, List.of(prefix + K));
        float[] velocity = new float[Math.toIntExact(sgd.velocity().size())];
        for (ParameterArena.Entry e : query.entries()) {
            if (e.kind() == ParameterArena.Kind.STATE) continue;
            float[] v = floats(file, c, prefix + MOMENTUM + e.name(), e.size());
            System.arraycopy(v, 0, velocity, Math.toIntExact(e.offset()), v.length);
        }
        query.backend().upload(velocity, 0, sgd.velocity());
        if (queue != null) queue.load(floats(file, c, prefix + QUEUE, (long) queue.capacity() * queue.dim()),
                queuePointer(file, c, prefix + QUEUE_PTR));
    }

    /** The F32 tensor {@code name} of exactly {@code size} values. */
    static float[] floats(Path file, Safetensors.Contents c, String name, long size) {
        Safetensors.Tensor t = c.tensors().get(name);
        if (t == null || t.data() == null || t.elements() != size)
            throw new IllegalArgumentException(file + ": checkpoint tensor " + name + " is "
                    + (t == null ? "missing" : t.dtype() + " " + Arrays.toString(t.shape())) + ", expected F32 of "
                    + size + " values");
        return t.data();
    }

    /** The queue pointer {@code name} stored as I64 or I32 [1]. */
    static int queuePointer(Path file, Safetensors.Contents c, String name) {
        Safetensors.Tensor t = c.tensors().get(name);
        if (t == null || t.ints() == null || t.elements() != 1)
            throw new IllegalArgumentException(file + ": checkpoint has no integer " + name + " [1]");
        long p = t.ints()[0];
        if (p < 0 || p > Integer.MAX_VALUE)
            throw new IllegalArgumentException(file + ": checkpoint tensor " + name + " = " + p + " is out of range");
        return (int) p;
    }

    /**
     * Refuses to save a state holding NaN or an infinity (weights, velocity, BN running statistics, queue,
     * bank): the checkpoint on disk must stay the last good one, since resuming a poisoned state diverges at once.
     *
     * @throws NonFiniteStateException naming the first such tensor, the element and its value
     */
    static void requireFinite(Map<String, Safetensors.Tensor> tensors) {
        for (Map.Entry<String, Safetensors.Tensor> e : tensors.entrySet()) {
            float[] data = e.getValue().data();
            if (data == null) continue;
            for (int i = 0; i < data.length; i++)
                if (!Float.isFinite(data[i])) throw new NonFiniteStateException(e.getKey(), i, data[i]);
        }
    }

    /** One view's tensors, named after {@code prefix}: f_q, f_k and the queue where given, SGD's velocity. */
    private static void putView(Map<String, Safetensors.Tensor> out, String prefix, ParameterArena query,
                                ParameterArena key, Sgd sgd, KeyQueue queue) {
        putArena(out, prefix + Q, query);
        if (key != null) putArena(out, prefix + K, key);
        putVelocity(out, prefix, query, sgd);
        if (queue != null) {
            out.put(prefix + QUEUE, Safetensors.Tensor.of(queue.toArray(), queue.capacity(), queue.dim()));
            out.put(prefix + QUEUE_PTR, Safetensors.Tensor.ofLongs(new long[] {queue.pointer()}, 1));
        }
    }

    private static void putArena(Map<String, Safetensors.Tensor> out, String prefix, ParameterArena arena) {
        for (ParameterArena.Entry e : arena.entries())
            out.put(prefix + e.name(), Safetensors.Tensor.of(arena.export(e.name()), shape(e.shape())));
    }

    private static void putVelocity(Map<String, Safetensors.Tensor> out, String prefix, ParameterArena arena, Sgd sgd) {
        Buffer v = sgd.velocity();
        float[] all = new float[Math.toIntExact(v.size())];
        arena.backend().download(v, all, 0);
        for (ParameterArena.Entry e : arena.entries()) {
            if (e.kind() == ParameterArena.Kind.STATE) continue;
            int from = Math.toIntExact(e.offset());
            out.put(prefix + MOMENTUM + e.name(),
                    Safetensors.Tensor.of(Arrays.copyOfRange(all, from, from + (int) e.size()), shape(e.shape())));
        }
    }

    private static long[] shape(int[] shape) { return Arrays.stream(shape).asLongStream().toArray(); }
}
