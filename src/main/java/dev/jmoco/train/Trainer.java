package dev.jmoco.train;

import dev.jmoco.autograd.Loss;
import dev.jmoco.autograd.NonFiniteLossException;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.data.Batch;
import dev.jmoco.dist.Collective;
import dev.jmoco.dist.CollectiveTally;
import dev.jmoco.dist.SingleProcess;
import dev.jmoco.io.Safetensors;
import dev.jmoco.moco.KeyQueue;
import dev.jmoco.moco.LossOutOfRangeException;
import dev.jmoco.moco.MemoryBank;
import dev.jmoco.nn.Architecture;
import dev.jmoco.nn.Encoder;
import dev.jmoco.trace.Trace;
import dev.jmoco.trace.Work;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A MoCo training run from a {@link TrainConfig}: its epoch loop over the parts a {@link TrainingRun} assembles
 * (backend, data, encoders, SGD, the mechanism's step, loader); {@link RunRestore} continues a saved run,
 * {@link Checkpoint} writes the state and {@link RunOutputs} the metrics.
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
 *
 * <h2>Data parallel</h2> Started with a {@link Collective} of N ranks (every rank builds its trainer with the
 * same config), the trainer is one rank of the job: {@code batch} is the global batch, split evenly; every rank
 * steps in lockstep and holds the same weights and queue; rank 0 alone claims the output folder, writes the
 * checkpoint and the metrics, and runs the kNN monitor; a stop asked on any rank stops every rank after the
 * same step. A checkpoint records N, and resumes on N ranks only. The caller owns the collective.
 */
public final class Trainer implements AutoCloseable {
    private final TrainConfig config;
    private final TrainingRun run;
    private final List<RunFolder> folders = new ArrayList<>(); // held for its life: the output and resumed folder
    private final List<TrainListener> listeners = new ArrayList<>();
    private final List<EpochResult> history = new ArrayList<>();
    private RunOutputs outputs;        // null without an output folder

    private int epochsDone;
    private double wallBefore;          // training seconds of earlier sessions (resume)
    private long trainNanos;            // of this session, kNN included
    private boolean diverged;
    private EpochTally current;         // the epoch in progress, or null between epochs
    private EpochTally tally;           // the latest epoch, in progress or just finished (for messages)
    private Checkpoint.EpochProgress resumedProgress = Checkpoint.EpochProgress.NONE; // of a mid-epoch checkpoint
    private long sessionSteps;
    private long lastSave = System.nanoTime(), savedStep = -1;  // when and at which global step it last saved
    private volatile boolean stopRequested;
    private boolean stopped;

    private Trainer(TrainingRun run) {
        this.config = run.config;
        this.run = run;
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
        return start(config, overwrite, new SingleProcess());
    }

    /** {@link #start(TrainConfig, boolean)} as one rank of {@code job} (see the class comment). */
    public static Trainer start(TrainConfig config, boolean overwrite, Collective job) throws IOException {
        return open(config, null, job, t -> {
            if (config.outDir() == null || !t.run.leads()) return;
            t.folders.add(RunFolder.claim(config.outDir(), true, overwrite));
            if (!overwrite && Files.exists(config.outDir().resolve(Checkpoint.FILE)))
                throw new IllegalArgumentException(config.outDir() + " already holds a checkpoint: resume it "
                        + "(--resume " + config.outDir() + "), choose another output folder, or pass --overwrite");
        });
    }

    /**
     * Assembles the run (data, model, backend: what can fail on bad settings, before anything is written),
     * claims its folders, restores {@code saved} (resume) and opens its output files.
     */
    private static Trainer open(TrainConfig config, Path saved, Collective job, Claim claim) throws IOException {
        Trainer t = new Trainer(new TrainingRun(config, job));
        try {
            claim.run(t);
            if (saved != null) t.restore(RunRestore.restore(t.run, saved, Checkpoint.read(saved)));
            if (t.writes()) t.outputs = RunOutputs.open(t.run, saved == null ? null
                    : saved.resolve(MetricsLog.FILE), t.globalStep(), t.history);
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
        return resume(config, dir, overwrite, new SingleProcess());
    }

    /** {@link #resume(TrainConfig, Path, boolean)} as one rank of {@code job}, of as many ranks as the saved run. */
    public static Trainer resume(TrainConfig config, Path dir, boolean overwrite, Collective job) throws IOException {
        Checkpoint.requireFile(dir); // named before the data set is read
        return open(config, dir, job, t -> {
            if (!t.run.leads()) return; // the other ranks only read the checkpoint
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

    public Architecture architecture() { return run.architecture; }

    /** The query encoder f_q (the one to keep: its backbone is the learned representation; lab views: L's). */
    public Encoder encoder() { return run.encoder; }

    /** The ab view's query encoder of a {@code --views lab} run, or null. */
    public Encoder abEncoder() { return run.ab == null ? null : run.ab.encoder(); }

    /** The key encoder's arena (MoCo; lab views: L's), or null. */
    public ParameterArena keyArena() { return run.key; }

    /** The ab view's key encoder's arena of a {@code --views lab} run, or null. */
    public ParameterArena abKeyArena() { return run.ab == null ? null : run.ab.parts().key(); }

    /** The MoCo queue (lab views: L's), or null for the other mechanisms. */
    public KeyQueue queue() { return run.queue(); }

    /** The ab view's queue of a {@code --views lab} run, or null. */
    public KeyQueue abQueue() { return run.ab == null ? null : run.ab.parts().queue(); }

    /** The memory bank, or null for the other mechanisms. */
    public MemoryBank bank() { return run.bank(); }

    /** The job this trainer is a rank of (one process unless started with another). */
    public Collective collective() { return run.job; }

    /** What the steps communicate over: the job's collective, or NCCL's over it. */
    public String collectiveName() { return run.collective.name(); }

    /** Calls, bytes and time of each collective operation this rank ran so far (this session). */
    public CollectiveTally collectiveTally() { return run.collective.tally(); }

    /** Steps run by this trainer (this session; {@link #globalStep} counts over resumes). */
    public long stepsThisSession() { return sessionSteps; }

    /** Whether this rank writes the run's files: rank 0, with an output folder. */
    private boolean writes() { return config.outDir() != null && run.leads(); }

    /** Epochs finished. */
    public int epochsDone() { return epochsDone; }

    /** Steps run since the start of training (over resumes). */
    public long globalStep() { return run.step.steps(); }

    public int stepsPerEpoch() { return run.loader.batchesPerEpoch(); }

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
        if (writes() && savedStep != globalStep())
            io(() -> saveCheckpoint(current.progress()));
        stopped = true;
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
        double lr = run.schedule.lr(epochsDone, current.steps(), steps);
        for (var sgd : run.sgds()) sgd.setLearningRate((float) lr);
        long t0 = System.nanoTime();
        Loss.Stats stats;
        Batch next;
        try (Trace.Scope wait = Trace.scope("loader wait", "transfer")) {
            next = current.batches.next();
        }
        try (Batch batch = next) {
            try (Trace.Scope slice = Trace.scope("upload (host to device)", "transfer")) {
                run.backend.upload(batch.view(0), 0, run.viewQ.data());
                run.backend.upload(batch.view(1), 0, run.viewK.data());
                slice.work(Work.streaming(2.0 * run.viewQ.size()));
            }
            stats = run.step.step(run.viewQ, run.viewK, batch.indices());
        } catch (NonFiniteLossException e) {
            throw diverged("the loss is " + e.value(), e);
        } catch (LossOutOfRangeException e) {
            throw diverged("the " + e.getMessage(), e);
        }
        // a stop asked on one rank (its Ctrl-C, a signal) stops all of them after this same step
        if (run.job.distributed() && run.job.any(stopRequested)) stopRequested = true;
        trainNanos += System.nanoTime() - t0;
        sessionSteps++;
        current.add(stats, lr);
        int stepInEpoch = current.steps();
        double imagesPerSecond = current.imagesPerSecond(config.batch());
        for (TrainListener l : listeners)
            l.onStep(epochsDone + 1, stepInEpoch, steps, stats, imagesPerSecond, lr);
        if (outputs != null && stepInEpoch % config.logEvery() == 0)
            io(() -> outputs.step(epochsDone + 1, globalStep(), stats, lr, imagesPerSecond, wallSeconds()));
        if (stepInEpoch == steps) finishEpoch(imagesPerSecond);
        else if (outputs != null && config.checkpointMinutes() > 0
                && System.nanoTime() - lastSave >= config.checkpointMinutes() * 60e9)
            io(() -> saveCheckpoint(current.progress()));
        return stats;
    }

    /** kNN top-1 accuracy of f_q's backbone features now: training split as the bank, test split as queries. */
    public double knnAccuracy() { return run.knnAccuracy(); }

    /** Waits for the device's queued work (for timing it; the CPU backend has none). */
    public void synchronizeDevice() { run.backend.synchronize(); }

    /** The device's name, as {@code jmoco devices} lists it. */
    public String deviceName() { return run.backend.name(); }

    /** Training wall time from the start of the run (over resumes) to now. */
    public double wallSeconds() { return wallBefore + trainNanos / 1e9; }

    private void beginEpoch() {
        Checkpoint.EpochProgress p = resumedProgress;
        resumedProgress = Checkpoint.EpochProgress.NONE;
        current = tally = new EpochTally(run.loader, epochsDone, p);
    }

    /**
     * Writes the checkpoint (atomically) with the run as it is now.
     *
     * @throws TrainingDivergedException if a tensor of the state is not finite (nothing is written)
     */
    private void saveCheckpoint(Checkpoint.EpochProgress progress) throws IOException {
        try {
            Checkpoint.write(config.outDir(), new Checkpoint.State(config, run.architecture.id(), epochsDone,
                    globalStep(), wallSeconds(), progress, run.query, run.key, run.sgd, queue(), bank(), history,
                    run.train.classNames(), run.inputNormalization(), run.ranks(), run.ab == null ? null
                    : new Checkpoint.AbState(run.ab.architecture().id(), run.ab.parts().query(), run.ab.parts().key(),
                            run.ab.parts().sgd(), run.ab.parts().queue())));
        } catch (NonFiniteStateException e) {
            throw diverged("the state became non-finite (" + e.getMessage() + ")", e);
        }
        lastSave = System.nanoTime();
        savedStep = globalStep();
    }

    private void finishEpoch(double imagesPerSecond) {
        current.batches.close();
        EpochTally done = current;
        current = null;
        int epoch = ++epochsDone;
        boolean knnDue = config.knnEvery() > 0 && (epoch % config.knnEvery() == 0 || epoch == config.epochs())
                && run.leads(); // rank 0's: every rank holds the same f_q
        long skipped = done.skippedImages();
        if (run.job.distributed()) skipped = Math.round(run.job.sum(new double[] {skipped})[0]); // every rank's shard
        long t0 = System.nanoTime();
        double knn = knnDue ? knnAccuracy() : Double.NaN;
        long knnNanos = System.nanoTime() - t0;
        trainNanos += knnNanos;
        EpochResult r = done.result(epoch, globalStep(), imagesPerSecond, knn, knnNanos / 1e9, wallSeconds(), skipped);
        history.add(r);
        if (outputs != null) io(() -> {
            saveCheckpoint(Checkpoint.EpochProgress.NONE); // the commit point: the other files follow from it
            outputs.epoch(r, history);
        });
        for (TrainListener l : listeners) l.onEpoch(epoch, r.meanLoss(), r.knnAccuracy(), r.seconds());
        if (r.skippedImages() > 0 && run.leads()) // --skip-bad-images: said, not hidden (after the epoch's line, on its own)
            System.err.println("jmoco: epoch " + epoch + ": " + r.skippedImages() + " image(s) could not be decoded "
                    + "and were replaced by the next ones that could; the first: " + (run.loader.firstSkipped() != null
                    ? run.loader.firstSkipped() : "in another rank's share"));
    }

    /** Marks the trainer unusable and says where and why, and what was kept. */
    private TrainingDivergedException diverged(String cause, RuntimeException e) {
        diverged = true;
        boolean inStep = e instanceof NonFiniteLossException || e instanceof LossOutOfRangeException;
        // a failed step was not counted; a refused save comes after the steps it would have saved
        int stepInEpoch = tally == null ? 0 : tally.steps();
        int epoch = inStep || current != null ? epochsDone + 1 : epochsDone, step = inStep ? stepInEpoch + 1 : stepInEpoch;
        long runStep = inStep ? globalStep() + 1 : globalStep();
        String kept = config.outDir() == null ? "no output folder is set"
                : savedStep < 0 ? "no checkpoint had been written yet"
                : "the last good checkpoint (step " + savedStep + ") in " + config.outDir() + " is kept";
        return new TrainingDivergedException("training diverged: " + cause + " at epoch " + epoch + ", step "
                + step + " (step " + runStep + " of the run); stopped, " + kept + "; try a lower lr (now "
                + config.lr() + ")", epoch, step, e);
    }

    /** Continues from where the saved run stood. */
    private void restore(RunRestore.Restored r) {
        epochsDone = r.epoch();
        resumedProgress = r.progress();
        savedStep = r.globalStep();
        wallBefore = r.wallSeconds();
        history.addAll(r.history());
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

    /** Stops the loader and releases every buffer, the backend and the folders. */
    @Override
    public void close() {
        if (current != null) current.batches.close();
        current = null;
        if (outputs != null) outputs.close();
        run.close();
        for (RunFolder f : folders)
            try { f.close(); } catch (IOException ignored) { /* the OS drops the lock when the process ends */ }
    }
}
