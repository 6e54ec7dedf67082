package dev.jmoco.train;

import dev.jmoco.autograd.Loss;
import dev.jmoco.autograd.NonFiniteLossException;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Sgd;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Backends;
import dev.jmoco.data.AugmentationRecipe;
import dev.jmoco.data.Batch;
import dev.jmoco.data.Dataset;
import dev.jmoco.data.Datasets;
import dev.jmoco.data.Loader;
import dev.jmoco.eval.FeatureExtractor;
import dev.jmoco.eval.KnnMonitor;
import dev.jmoco.io.Json;
import dev.jmoco.io.Safetensors;
import dev.jmoco.moco.ContrastiveStep;
import dev.jmoco.moco.KeyQueue;
import dev.jmoco.moco.LossOutOfRangeException;
import dev.jmoco.moco.Mechanism;
import dev.jmoco.moco.MemoryBank;
import dev.jmoco.moco.MemoryBankStep;
import dev.jmoco.moco.MocoStep;
import dev.jmoco.nn.Architecture;
import dev.jmoco.nn.Encoder;
import dev.jmoco.nn.Encoders;
import dev.jmoco.nn.Mode;
import dev.jmoco.nn.Stem;
import dev.jmoco.optim.CosineSchedule;
import dev.jmoco.optim.LearningRateSchedule;
import dev.jmoco.optim.StepSchedule;
import dev.jmoco.trace.Trace;
import dev.jmoco.trace.Work;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A MoCo training run built from a {@link TrainConfig}: the backend ({@code Backends.create(device)}), the
 * training split (first {@code limitTrain} images), the encoders f_q and f_k (arenas of one layout, f_k a copy
 * of f_q), SGD with the linearly scaled, scheduled learning rate, the mechanism's step and dictionary, and a
 * loader of two augmented views per image on background threads.
 *
 * <h2>Use</h2>
 * <pre>{@code
 * try (Trainer t = Trainer.start(TrainConfig.builder().epochs(10).outDir(Path.of("run")).build())) {
 *     t.addListener(myListener);
 *     t.train();                      // or: t.trainEpoch() per epoch, or t.step() per batch
 * }
 * }</pre>
 * Call order: {@link #start} or {@link #resume}, then {@link #step}, {@link #trainEpoch} or {@link #train}
 * until {@link #done()}, then {@link #close}. At each epoch end the trainer runs the kNN monitor when due
 * (every {@code knnEvery} epochs and after the last, on backbone features of f_q in eval mode: training split
 * as the bank, test split as the queries), writes the checkpoint atomically, appends to metrics.csv and
 * rewrites summary.json and curves.png (when an output folder is set), then tells the listeners. Inside an
 * epoch, the checkpoint is also written every {@code checkpointMinutes}, and {@link #resume} continues from it
 * at the next batch. A non-finite loss, a loss outside the range InfoNCE can take, or a non-finite tensor in
 * the state about to be saved throws {@link TrainingDivergedException} and leaves the last checkpoint as it
 * was, so the checkpoint on disk is always a good one.
 *
 * <h2>The output folder</h2> A trainer holds its output folder for its life ({@link RunFolder}: a second
 * trainer or resume of the same folder is refused); a new run refuses a folder with files jmoco did not
 * write unless told to overwrite. The checkpoint records the finished epochs, so after a kill at any point
 * resume rebuilds metrics.csv, summary.json and curves.png from it. {@link #requestStop} (Ctrl-C in the CLI)
 * ends {@link #train} after the current step with a mid-epoch checkpoint.
 */
public final class Trainer implements AutoCloseable {
    static final String SUMMARY = "summary.json";

    private final TrainConfig config;
    private final List<RunFolder> folders = new ArrayList<>(); // held for its life: the output and resumed folder
    private final Backend backend;
    private final Dataset train;
    private final Architecture architecture;
    private final ParameterArena query, key;
    private final Encoder encoderQ;
    private final Sgd sgd;
    private final ContrastiveStep contrastive;
    private final Loader loader;
    private final LearningRateSchedule schedule;
    private final Tensor viewQ, viewK;
    private final List<TrainListener> listeners = new ArrayList<>();
    private final List<EpochResult> history = new ArrayList<>();
    private MetricsLog metrics;
    private Dataset test;

    private int epochsDone;
    private double wallBefore;          // training seconds of earlier sessions (resume)
    private boolean diverged;
    // the epoch in progress
    private Loader.Epoch current;
    private int stepInEpoch;
    private double lossSum, acc1Sum, acc5Sum, lastLr;
    private long epochStart, trainNanos;
    private Checkpoint.EpochProgress resumedProgress = Checkpoint.EpochProgress.NONE; // of a mid-epoch checkpoint
    private long lastSave = System.nanoTime(), savedStep = -1;  // when and at which global step it last saved
    private volatile boolean stopRequested;
    private boolean stopped, plotWarned;

    private Trainer(TrainConfig config) throws IOException {
        this.config = config;
        Dataset full = Datasets.open(config.dataset(), config.dataDir(), "train");
        this.train = config.limitTrain() > 0 ? full.subset(config.limitTrain()) : full;
        if (config.batch() > train.size())
            throw new IllegalArgumentException("batch " + config.batch() + " is larger than the data set: "
                    + train.size() + " training images of " + config.dataset()
                    + (config.limitTrain() > 0 ? " (limit-train " + config.limitTrain() + ")" : ""));
        if (config.knnEvery() > 0 && config.knnK() > train.size())
            throw new IllegalArgumentException("knn k " + config.knnK() + " exceeds the " + train.size()
                    + " training images of its bank");
        if (config.knnEvery() > 0) test = openTest(); // fail before training, not after the first epoch
        Stem stem = switch (config.stem()) {
            case "cifar" -> Stem.CIFAR;
            case "imagenet" -> Stem.IMAGENET;
            default -> Math.max(train.height(), train.width()) <= 64 ? Stem.CIFAR : Stem.IMAGENET;
        };
        this.architecture = Encoders.create(config.arch(), stem, train.channels(), config.head(), config.dim(),
                config.decay());
        this.backend = Backends.create(config.device());
        ParameterArena q = null, k = null;
        Sgd s = null;
        ContrastiveStep c = null;
        Loader l = null;
        Tensor vq = null, vk = null;
        try {
            q = architecture.arenaLayout().build(backend, true);
            architecture.initialize(q, config.seed());
            if (config.mechanism() == Mechanism.MOCO) {
                k = q.newLike(false);
                k.copyFrom(q);
            }
            s = new Sgd(q, (float) config.scaledLr(), (float) config.sgdMomentum(), (float) config.weightDecay());
            Encoder fq = architecture.bind(q), fk = k == null ? null : architecture.bind(k);
            ParameterArena queryArena = q;
            c = ContrastiveStep.create(config.mocoConfig(config.mechanism() == Mechanism.MEMORY_BANK ? train.size() : 0), (params, images, groups) ->
                    (params == queryArena ? fq : fk).forward(images, Mode.train(groups)), q, k, s);
            AugmentationRecipe recipe = recipe(config);
            Loader.Builder lb = Loader.builder(train).training(recipe, config.seed()).batchSize(config.batch());
            if (config.workers() > 0) lb.threads(config.workers());
            l = lb.build();
            int[] shape = {config.batch(), train.channels(), l.viewHeight(), l.viewWidth()};
            vq = Tensor.allocate(backend, shape);
            vk = Tensor.allocate(backend, shape);
            this.encoderQ = fq;
        } catch (RuntimeException e) {
            for (AutoCloseable r : new AutoCloseable[] {vk, vq, l, c, s, k, q, backend})
                if (r != null) try { r.close(); } catch (Exception suppressed) { e.addSuppressed(suppressed); }
            throw e;
        }
        this.query = q;
        this.key = k;
        this.sgd = s;
        this.contrastive = c;
        this.loader = l;
        this.viewQ = vq;
        this.viewK = vk;
        this.schedule = schedule(config);
    }

    /** A new run into a new or empty output folder: {@link #start(TrainConfig, boolean)} without overwriting. */
    public static Trainer start(TrainConfig config) throws IOException { return start(config, false); }

    /**
     * A new run. Refuses an output folder that is in use by another run, that already holds a checkpoint (resume
     * it, or choose another) or that holds files jmoco did not write, unless {@code overwrite} (then jmoco's
     * files there are replaced and others kept), so nothing is overwritten by accident.
     *
     * @throws IOException              if the data set cannot be read
     * @throws IllegalArgumentException for settings that do not fit the data set, naming both numbers, and for
     *                                  an output folder that is refused
     * @throws IllegalStateException    if another run holds the output folder
     */
    public static Trainer start(TrainConfig config, boolean overwrite) throws IOException {
        return open(config, null, t -> {
            if (config.outDir() == null) return;
            t.folders.add(RunFolder.claim(config.outDir(), true, overwrite));
            if (!overwrite && Files.exists(config.outDir().resolve(Checkpoint.FILE)))
                throw new IllegalArgumentException(config.outDir() + " already holds a checkpoint: resume it "
                        + "(--resume " + config.outDir() + "), choose another output folder, or pass --overwrite");
        });
    }

    /**
     * Builds the trainer (data, model, backend: what can fail on bad settings, before anything is written),
     * claims its folders, restores {@code saved} (resume) and opens its output files.
     */
    private static Trainer open(TrainConfig config, Path saved, Claim claim) throws IOException {
        Trainer t = new Trainer(config);
        try {
            claim.run(t);
            if (saved != null) t.restore(saved, Checkpoint.read(saved));
            t.openOutputs(saved == null ? null : saved.resolve(MetricsLog.FILE));
        } catch (IOException | RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    @FunctionalInterface
    private interface Claim { void run(Trainer t) throws IOException; }

    private static boolean sameFolder(Path a, Path b) throws IOException {
        return Files.exists(b) ? Files.isSameFile(a, b)
                : a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
    }

    /**
     * Continues the run saved in {@code dir} with {@code config}, up to {@code config.epochs()}: the weights,
     * f_k, optimizer state, dictionary and step count are restored, and the remaining epochs run exactly as
     * in an uninterrupted run (the CPU backend gives bit-identical results). Settings that decide the course of
     * the run so far (architecture, mechanism, batch, queue, seed, data) must equal the checkpoint's; the
     * learning-rate settings and the epoch count may change.
     *
     * @throws IllegalArgumentException naming the checkpoint's and the configured value of what differs
     */
    public static Trainer resume(TrainConfig config, Path dir) throws IOException { return resume(config, dir, false); }

    /**
     * {@link #resume(TrainConfig, Path)}, holding {@code dir} (and the output folder, when another) for the
     * trainer's life; an output folder other than {@code dir} must be new or empty unless {@code overwrite}.
     */
    public static Trainer resume(TrainConfig config, Path dir, boolean overwrite) throws IOException {
        Checkpoint.requireFile(dir); // named before the data set is read
        return open(config, dir, t -> {
            t.folders.add(RunFolder.claim(dir, false, false));
            Path out = config.outDir();
            if (out != null && !sameFolder(dir, out)) t.folders.add(RunFolder.claim(out, true, overwrite));
        });
    }

    /** The settings saved in the checkpoint in {@code dir}, with the output folder set to {@code dir}. */
    public static TrainConfig savedConfig(Path dir) throws IOException {
        Path file = Checkpoint.requireFile(dir);
        Map<String, String> metadata = Safetensors.readMetadata(file);
        Checkpoint.requireFormat(file, metadata);
        return Checkpoint.config(file, metadata, dir);
    }

    public void addListener(TrainListener listener) { listeners.add(Objects.requireNonNull(listener)); }

    public TrainConfig config() { return config; }

    public Architecture architecture() { return architecture; }

    /** The query encoder f_q (the one to keep: its backbone is the learned representation). */
    public Encoder encoder() { return encoderQ; }

    /** The key encoder's arena (MoCo), or null. */
    public ParameterArena keyArena() { return key; }

    /** The MoCo queue, or null for the other mechanisms. */
    public KeyQueue queue() { return contrastive instanceof MocoStep m ? m.queue() : null; }

    /** The memory bank, or null for the other mechanisms. */
    public MemoryBank bank() { return contrastive instanceof MemoryBankStep m ? m.bank() : null; }

    /** Epochs finished. */
    public int epochsDone() { return epochsDone; }

    /** Steps run since the start of training (over resumes). */
    public long globalStep() { return contrastive.steps(); }

    public int stepsPerEpoch() { return loader.batchesPerEpoch(); }

    /** Whether the configured number of epochs is done. */
    public boolean done() { return epochsDone >= config.epochs(); }

    /** The finished epochs (of earlier sessions too, from metrics.csv, when resumed into an output folder). */
    public List<EpochResult> history() { return List.copyOf(history); }

    /**
     * Runs every remaining epoch, or until {@link #requestStop}; returns the last finished epoch's result (null
     * when none finished in this call).
     */
    public EpochResult train() {
        EpochResult last = null;
        while (!done() && !stopped) {
            EpochResult r = trainEpoch();
            if (r != null) last = r;
        }
        return last;
    }

    /**
     * Runs the steps left in the current epoch (all of the next one if none is in progress) and finishes it;
     * returns its result, or null when {@link #requestStop} ended it early (see {@link #stopped()}).
     */
    public EpochResult trainEpoch() {
        do {
            step();
            if (stopRequested && current != null) {
                stopMidEpoch();
                return null;
            }
        } while (current != null);
        return history.getLast();
    }

    /**
     * Asks {@link #train} and {@link #trainEpoch} to stop after the current step, writing a mid-epoch
     * checkpoint (when an output folder is set) from which {@link #resume} continues exactly. Safe to call from
     * any thread (a signal handler, another thread of the embedding program).
     */
    public void requestStop() { stopRequested = true; }

    /** Whether a {@link #requestStop} ended training before it was done. */
    public boolean stopped() { return stopped; }

    private void stopMidEpoch() {
        if (config.outDir() != null && savedStep != globalStep())
            io(() -> saveCheckpoint(progress()));
        stopped = true;
    }

    private Checkpoint.EpochProgress progress() {
        return new Checkpoint.EpochProgress(stepInEpoch, lossSum, acc1Sum, acc5Sum,
                (System.nanoTime() - epochStart) / 1e9);
    }

    /**
     * Runs one step on the next batch; at the last batch of an epoch, also finishes the epoch (kNN,
     * checkpoint, files, listeners).
     *
     * @throws TrainingDivergedException if the loss is not finite (the trainer is unusable afterwards)
     * @throws IllegalStateException      if all epochs are done
     */
    public Loss.Stats step() {
        if (diverged) throw new IllegalStateException("training diverged earlier; start again from the checkpoint");
        if (stopped) throw new IllegalStateException("training was stopped; resume it from the checkpoint");
        if (done()) throw new IllegalStateException("training is done: " + epochsDone + " of " + config.epochs()
                + " epochs");
        if (current == null) beginEpoch();
        int steps = stepsPerEpoch();
        double lr = schedule.lr(epochsDone, stepInEpoch, steps);
        sgd.setLearningRate((float) lr);
        long t0 = System.nanoTime();
        Loss.Stats stats;
        Batch next;
        try (Trace.Scope wait = Trace.scope("loader wait", "transfer")) {
            next = current.next();
        }
        try (Batch batch = next) {
            try (Trace.Scope slice = Trace.scope("upload (host to device)", "transfer")) {
                backend.upload(batch.view(0), 0, viewQ.data());
                backend.upload(batch.view(1), 0, viewK.data());
                slice.work(Work.streaming(2.0 * viewQ.size()));
            }
            stats = contrastive.step(viewQ, viewK, batch.indices());
        } catch (NonFiniteLossException e) {
            throw diverged("the loss is " + e.value(), e);
        } catch (LossOutOfRangeException e) {
            throw diverged("the " + e.getMessage(), e);
        }
        trainNanos += System.nanoTime() - t0;
        stepInEpoch++;
        lossSum += stats.loss();
        acc1Sum += stats.acc1();
        acc5Sum += stats.acc5();
        lastLr = lr;
        double imagesPerSecond = (double) stepInEpoch * config.batch() / ((System.nanoTime() - epochStart) / 1e9);
        for (TrainListener l : listeners)
            l.onStep(epochsDone + 1, stepInEpoch, steps, stats, imagesPerSecond, lr);
        if (metrics != null && stepInEpoch % config.logEvery() == 0)
            io(() -> metrics.step(epochsDone + 1, globalStep(), stats, lr, imagesPerSecond, wallSeconds()));
        if (stepInEpoch == steps) finishEpoch(imagesPerSecond);
        else if (config.outDir() != null && config.checkpointMinutes() > 0
                && System.nanoTime() - lastSave >= config.checkpointMinutes() * 60e9)
            io(() -> saveCheckpoint(progress()));
        return stats;
    }

    /** kNN top-1 accuracy of f_q's backbone features now: training split as the bank, test split as queries. */
    public double knnAccuracy() {
        try {
            if (test == null) test = openTest();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        FeatureExtractor f = Features.backbone(encoderQ, train.channels(), train.height(), train.width());
        KnnMonitor.Settings settings = new KnnMonitor.Settings(config.knnK(), config.knnT(), 0);
        try (KnnMonitor knn = KnnMonitor.build(backend, Features.collect(train, f, config.workers()),
                train.numClasses(), settings)) {
            return knn.evaluate(Features.collect(test, f, config.workers())).accuracy();
        }
    }

    /** The test split, its first {@code limitTest} images when limited: the kNN queries. */
    private Dataset openTest() throws IOException {
        Dataset t = Datasets.openTest(config.dataset(), config.dataDir(), train);
        return config.limitTest() > 0 ? t.subset(config.limitTest()) : t;
    }

    /** Waits for the device's queued work (for timing it; the CPU backend has none). */
    public void synchronizeDevice() { backend.synchronize(); }

    /** The device's name, as {@code jmoco devices} lists it. */
    public String deviceName() { return backend.name(); }

    /** Training wall time from the start of the run (over resumes) to now. */
    public double wallSeconds() { return wallBefore + trainNanos / 1e9; }

    private void beginEpoch() {
        Checkpoint.EpochProgress p = resumedProgress;
        resumedProgress = Checkpoint.EpochProgress.NONE;
        current = loader.epoch(epochsDone, p.steps());
        stepInEpoch = p.steps();
        lossSum = p.lossSum();
        acc1Sum = p.acc1Sum();
        acc5Sum = p.acc5Sum();
        epochStart = System.nanoTime() - (long) (p.seconds() * 1e9);
    }

    /**
     * Writes the checkpoint (atomically) with the run as it is now.
     *
     * @throws TrainingDivergedException if a tensor of the state is not finite (nothing is written)
     */
    private void saveCheckpoint(Checkpoint.EpochProgress progress) throws IOException {
        try {
            Checkpoint.write(config.outDir(), new Checkpoint.State(config, architecture.id(), epochsDone,
                    globalStep(), wallSeconds(), progress, query, key, sgd, queue(), bank(), history,
                    train.classNames()));
        } catch (NonFiniteStateException e) {
            throw diverged("the state became non-finite (" + e.getMessage() + ")", e);
        }
        lastSave = System.nanoTime();
        savedStep = globalStep();
    }

    private void finishEpoch(double imagesPerSecond) {
        current.close();
        current = null;
        int epoch = ++epochsDone;
        boolean knnDue = config.knnEvery() > 0 && (epoch % config.knnEvery() == 0 || epoch == config.epochs());
        long t0 = System.nanoTime();
        double knn = knnDue ? knnAccuracy() : Double.NaN;
        long knnNanos = System.nanoTime() - t0;
        trainNanos += knnNanos;
        int n = stepInEpoch;
        EpochResult r = new EpochResult(epoch, globalStep(), lossSum / n, acc1Sum / n, acc5Sum / n, lastLr,
                imagesPerSecond, knn, knnNanos / 1e9, (System.nanoTime() - epochStart) / 1e9, wallSeconds());
        history.add(r);
        if (config.outDir() != null) io(() -> {
            saveCheckpoint(Checkpoint.EpochProgress.NONE); // the commit point: the other files follow from it
            metrics.epoch(r);
            writeSummaryAndCurves();
        });
        for (TrainListener l : listeners) l.onEpoch(epoch, r.meanLoss(), r.knnAccuracy(), r.seconds());
    }

    /** summary.json and curves.png from the epoch history; a plot that cannot be drawn is a warning only. */
    private void writeSummaryAndCurves() throws IOException {
        JsonText.write(config.outDir().resolve(SUMMARY), summary());
        try {
            CurvePlot.write(config.outDir(), history);
        } catch (IOException | RuntimeException | Error e) {
            if (e instanceof VirtualMachineError vm) throw vm;
            // headless AWT without fonts throws errors, not IOExceptions: the run must go on without its plot
            if (!plotWarned) System.err.println("jmoco: warning: " + CurvePlot.FILE + " not drawn: " + e);
            plotWarned = true;
        }
    }

    /**
     * summary.json: final loss, last kNN accuracy, mean throughput, wall time (kNN included) and the part of it
     * the kNN monitor took (both over resumes), epochs, the kNN curve as [epoch, accuracy] pairs, and the
     * settings.
     */
    private Map<String, Object> summary() {
        EpochResult last = history.getLast();
        double knn = Double.NaN;
        for (EpochResult r : history) if (!Double.isNaN(r.knnAccuracy())) knn = r.knnAccuracy();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("epochs", last.epoch());
        m.put("global_step", last.globalStep());
        m.put("final_loss", last.meanLoss());
        m.put("final_acc1", last.meanAcc1());
        m.put("knn_accuracy", knn);
        m.put("images_per_s", history.stream().mapToDouble(EpochResult::imagesPerSecond)
                .filter(Double::isFinite).average().orElse(Double.NaN));
        m.put("wall_s", last.wallSeconds());
        m.put("knn_s", history.stream().mapToDouble(EpochResult::knnSeconds).filter(Double::isFinite).sum());
        m.put("architecture", architecture.id());
        m.put("parameters", architecture.parameterCount());
        m.put("device", backend.name());
        m.put("knn_curve", history.stream().filter(r -> !Double.isNaN(r.knnAccuracy()))
                .map(r -> List.of(r.epoch(), r.knnAccuracy())).toList());
        m.put("config", config.asMap());
        return m;
    }

    /** Marks the trainer unusable and says where and why, and what was kept. */
    private TrainingDivergedException diverged(String cause, RuntimeException e) {
        diverged = true;
        boolean inStep = e instanceof NonFiniteLossException || e instanceof LossOutOfRangeException;
        // a failed step was not counted; a refused save comes after the steps it would have saved
        int epoch = inStep || current != null ? epochsDone + 1 : epochsDone, step = inStep ? stepInEpoch + 1 : stepInEpoch;
        long runStep = inStep ? globalStep() + 1 : globalStep();
        String kept = config.outDir() == null ? "no output folder is set"
                : savedStep < 0 ? "no checkpoint had been written yet"
                : "the last good checkpoint (step " + savedStep + ") in " + config.outDir() + " is kept";
        return new TrainingDivergedException("training diverged: " + cause + " at epoch " + epoch + ", step "
                + step + " (step " + runStep + " of the run); stopped, " + kept + "; try a lower lr (now "
                + config.lr() + ")", epoch, step, e);
    }

    private void restore(Path dir, Safetensors.Contents c) {
        Path file = dir.resolve(Checkpoint.FILE);
        Checkpoint.Saved saved = Checkpoint.Saved.parse(file, c.metadata(), dir);
        if (!architecture.id().equals(saved.architecture()))
            throw new IllegalArgumentException("cannot resume " + file + ": it holds architecture "
                    + saved.architecture() + ", this run is configured for " + architecture.id());
        TrainConfig was = saved.config();
        same(file, "mechanism", was.mechanism().cliName(), config.mechanism().cliName());
        same(file, "batch", was.batch(), config.batch());
        same(file, "queue", was.queue(), config.queue());
        same(file, "seed", was.seed(), config.seed());
        same(file, "dataset", was.dataset(), config.dataset());
        same(file, "limit-train", was.limitTrain(), config.limitTrain());
        same(file, "bn-splits", was.bnSplits(), config.bnSplits());
        same(file, "symmetric", was.symmetric(), config.symmetric());
        if (!saved.classes().isEmpty() && !saved.classes().equals(train.classNames()))
            throw new IllegalArgumentException("cannot resume " + file + ": it was trained on the classes "
                    + Json.visible(String.join(", ", saved.classes())) + ", the training split now holds "
                    + Json.visible(String.join(", ", train.classNames())));
        int epoch = saved.epoch();
        long step = saved.globalStep();
        if (epoch > config.epochs())
            throw new IllegalArgumentException("cannot resume " + file + ": it has " + epoch
                    + " epochs done, more than the " + config.epochs() + " configured");
        Checkpoint.EpochProgress progress = saved.progress();
        if (step != (long) epoch * stepsPerEpoch() + progress.steps() || progress.steps() >= stepsPerEpoch())
            throw new IllegalArgumentException("cannot resume " + file + ": global step " + step + " is not "
                    + epoch + " epochs x " + stepsPerEpoch() + " steps + " + progress.steps() + " steps into the next");
        try {
            Checkpoint.requireFinite(c.tensors());
        } catch (NonFiniteStateException e) {
            throw new IllegalArgumentException("cannot resume " + file + ": " + e.getMessage()
                    + "; resuming it would diverge at once: start again or from an earlier copy");
        }
        Checkpoint.restoreEncoders(file, c, query, key, sgd);
        if (queue() != null) queue().load(Checkpoint.floats(file, c, Checkpoint.QUEUE,
                (long) queue().capacity() * queue().dim()), Checkpoint.queuePointer(file, c));
        if (bank() != null) bank().load(Checkpoint.floats(file, c, Checkpoint.BANK, (long) bank().size() * bank().dim()));
        contrastive.resumeAt(step);
        epochsDone = epoch;
        resumedProgress = progress;
        savedStep = step;
        wallBefore = saved.wallSeconds();
        history.addAll(saved.history());
    }

    private static void same(Path file, String what, Object saved, Object configured) {
        if (!saved.equals(configured))
            throw new IllegalArgumentException("cannot resume " + file + ": it was trained with " + what + " "
                    + saved + ", this run is configured with " + configured);
    }

    /**
     * Opens metrics.csv (rebuilt from the checkpoint on resume) and, when epochs are done, rewrites
     * summary.json and curves.png from the history, repairing what a kill after the checkpoint left behind.
     */
    private void openOutputs(Path previousMetrics) throws IOException {
        if (config.outDir() == null) return;
        metrics = MetricsLog.open(config.outDir(), previousMetrics, globalStep(), history);
        if (!history.isEmpty()) writeSummaryAndCurves();
    }

    /** The configured recipe at the images' own size, with the overrides applied. */
    static AugmentationRecipe recipe(TrainConfig config) {
        AugmentationRecipe r = AugmentationRecipe.named(config.augmentation(), 0);
        if (!Double.isNaN(config.cropScaleMin())) r = r.withCropScaleMin(config.cropScaleMin());
        if (!Double.isNaN(config.blurP())) r = r.withBlurP(config.blurP());
        return r;
    }

    /** The lr per step: linearly scaled base rate, cosine (per epoch) or step decay, then the warm-up. */
    static LearningRateSchedule schedule(TrainConfig config) {
        LearningRateSchedule s = config.schedule().equals("step")
                ? new StepSchedule(config.scaledLr(), config.milestones(), 0.1)
                : CosineSchedule.perEpoch(config.scaledLr(), config.epochs());
        return config.warmupEpochs() > 0 ? s.withWarmup(config.warmupEpochs()) : s;
    }

    /** Writes output files, turning an I/O failure into an unchecked one (steps are not declared to throw). */
    private static void io(IoAction action) {
        try {
            action.run();
        } catch (IOException e) {
            throw new UncheckedIOException("writing the run's files failed: " + e.getMessage(), e);
        }
    }

    @FunctionalInterface
    private interface IoAction { void run() throws IOException; }

    /** Stops the loader and releases every buffer and the backend. */
    @Override
    public void close() {
        if (current != null) current.close();
        current = null;
        try {
            if (metrics != null) metrics.close();
        } catch (IOException ignored) {
            // rows were flushed as written; nothing is lost
        }
        loader.close();
        viewQ.close();
        viewK.close();
        contrastive.close();
        sgd.close();
        if (key != null) key.close();
        query.close();
        backend.close();
        for (RunFolder f : folders)
            try { f.close(); } catch (IOException ignored) { /* the OS drops the lock when the process ends */ }
    }
}
