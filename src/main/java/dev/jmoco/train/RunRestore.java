package dev.jmoco.train;

import dev.jmoco.io.Json;
import dev.jmoco.io.Safetensors;

import java.nio.file.Path;
import java.util.List;

/**
 * Puts a checkpoint's state into an assembled run, after checking that the run continues the one saved: the
 * settings that decided its course so far (architecture, mechanism, batch, queue, seed, data) must be the
 * checkpoint's; the learning-rate settings and the epoch count may change.
 */
final class RunRestore {
    private RunRestore() {}

    /** Where the saved run stood: what the trainer's loop continues from. */
    record Restored(int epoch, long globalStep, Checkpoint.EpochProgress progress, double wallSeconds,
                    List<EpochResult> history) {}

    /**
     * Restores weights, f_k, optimizer state, dictionary and step count of the checkpoint in {@code dir} into
     * {@code run}.
     *
     * @throws IllegalArgumentException naming the file, the checkpoint's and the configured value of what differs
     */
    static Restored restore(TrainingRun run, Path dir, Safetensors.Contents c) {
        Path file = dir.resolve(Checkpoint.FILE);
        TrainConfig config = run.config;
        Checkpoint.Saved saved = Checkpoint.Saved.parse(file, c.metadata(), dir);
        TrainConfig was = saved.config();
        same(file, "views", was.views(), config.views()); // first: it decides the architectures' input channels
        if (!run.architecture.id().equals(saved.architecture()))
            throw new IllegalArgumentException("cannot resume " + file + ": it holds architecture "
                    + saved.architecture() + ", this run is configured for " + run.architecture.id());
        if (saved.ranks() != run.ranks())
            throw new IllegalArgumentException("cannot resume " + file + ": it was written by a run of " + saved.ranks()
                    + (saved.ranks() == 1 ? " process" : " ranks") + ", this one has " + run.ranks() + "; resume it on "
                    + (saved.ranks() == 1 ? "one process (without mpirun)" : saved.ranks() + " ranks (mpirun -np "
                    + saved.ranks() + ")") + ", so that it continues exactly");
        same(file, "mechanism", was.mechanism().cliName(), config.mechanism().cliName());
        same(file, "batch", was.batch(), config.batch());
        same(file, "queue", was.queue(), config.queue());
        same(file, "seed", was.seed(), config.seed());
        same(file, "dataset", was.dataset(), config.dataset());
        same(file, "image-size", was.imageSize(), config.imageSize());
        same(file, "limit-train", was.limitTrain(), config.limitTrain());
        same(file, "bn-splits", was.bnSplits(), config.bnSplits());
        same(file, "symmetric", was.symmetric(), config.symmetric());
        if (!saved.classes().isEmpty() && !saved.classes().equals(run.train.classNames()))
            throw new IllegalArgumentException("cannot resume " + file + ": it was trained on the classes "
                    + Json.visible(String.join(", ", saved.classes())) + ", the training split now holds "
                    + Json.visible(String.join(", ", run.train.classNames())));
        int epoch = saved.epoch();
        long step = saved.globalStep();
        if (epoch > config.epochs())
            throw new IllegalArgumentException("cannot resume " + file + ": it has " + epoch
                    + " epochs done, more than the " + config.epochs() + " configured");
        Checkpoint.EpochProgress progress = saved.progress();
        int stepsPerEpoch = run.loader.batchesPerEpoch();
        if (step != (long) epoch * stepsPerEpoch + progress.steps() || progress.steps() >= stepsPerEpoch)
            throw new IllegalArgumentException("cannot resume " + file + ": global step " + step + " is not "
                    + epoch + " epochs x " + stepsPerEpoch + " steps + " + progress.steps() + " steps into the next");
        try {
            Checkpoint.requireFinite(c.tensors());
        } catch (NonFiniteStateException e) {
            throw new IllegalArgumentException("cannot resume " + file + ": " + e.getMessage()
                    + "; resuming it would diverge at once: start again or from an earlier copy");
        }
        Checkpoint.restoreView(file, c, "", run.query, run.key, run.sgd, run.queue());
        if (run.ab != null) {
            var ab = run.ab.parts();
            Checkpoint.restoreView(file, c, Checkpoint.AB, ab.query(), ab.key(), ab.sgd(), ab.queue());
        }
        if (run.bank() != null)
            run.bank().load(Checkpoint.floats(file, c, Checkpoint.BANK, (long) run.bank().size() * run.bank().dim()));
        run.step.resumeAt(step);
        return new Restored(epoch, step, progress, saved.wallSeconds(), saved.history());
    }

    private static void same(Path file, String what, Object saved, Object configured) {
        if (!saved.equals(configured))
            throw new IllegalArgumentException("cannot resume " + file + ": it was trained with " + what + " "
                    + saved + ", this run is configured with " + configured);
    }
}
