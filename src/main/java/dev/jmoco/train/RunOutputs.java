package dev.jmoco.train;

import dev.jmoco.autograd.Loss;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A run's metrics in its output folder: metrics.csv (a row every {@code logEvery} steps and one per epoch),
 * summary.json and curves.png (rewritten from the epoch history after each epoch). The checkpoint, written
 * first at an epoch end, is the commit point: these files follow from it, and resume rebuilds them.
 */
final class RunOutputs implements AutoCloseable {
    static final String SUMMARY = "summary.json";

    private final TrainingRun run;
    private final Path dir;
    private final MetricsLog metrics;
    private boolean plotWarned;

    private RunOutputs(TrainingRun run, MetricsLog metrics) {
        this.run = run;
        this.dir = run.config.outDir();
        this.metrics = metrics;
    }

    /**
     * Opens metrics.csv (rebuilt from {@code previousMetrics} and the checkpoint's history on resume) and, when
     * epochs are done, rewrites summary.json and curves.png, repairing what a kill after the checkpoint left.
     */
    static RunOutputs open(TrainingRun run, Path previousMetrics, long globalStep, List<EpochResult> history)
            throws IOException {
        RunOutputs o = new RunOutputs(run, MetricsLog.open(run.config.outDir(), previousMetrics, globalStep, history));
        if (!history.isEmpty()) o.summaryAndCurves(history);
        return o;
    }

    void step(int epoch, long globalStep, Loss.Stats stats, double lr, double imagesPerSecond, double wallSeconds)
            throws IOException {
        metrics.step(epoch, globalStep, stats, lr, imagesPerSecond, wallSeconds);
    }

    /** The epoch's metrics row, then summary.json and curves.png over {@code history} (which ends with it). */
    void epoch(EpochResult r, List<EpochResult> history) throws IOException {
        metrics.epoch(r);
        summaryAndCurves(history);
    }

    /** summary.json and curves.png from the epoch history; a plot that cannot be drawn is a warning only. */
    private void summaryAndCurves(List<EpochResult> history) throws IOException {
        JsonText.write(dir.resolve(SUMMARY), summary(history));
        try {
            CurvePlot.write(dir, history);
        } catch (IOException | RuntimeException | Error e) {
            if (e instanceof VirtualMachineError vm) throw vm;
            // headless AWT without fonts throws errors, not IOExceptions: the run must go on without its plot
            if (!plotWarned) System.err.println("jmoco: warning: " + CurvePlot.FILE + " not drawn: " + e);
            plotWarned = true;
        }
    }

    /**
     * summary.json: final loss, last kNN accuracy, mean throughput, wall time (kNN included) and the part of it
     * the kNN monitor took (both over resumes), the images that could not be decoded and were replaced
     * (--skip-bad-images), epochs, the kNN curve as [epoch, accuracy] pairs, and the settings.
     */
    private Map<String, Object> summary(List<EpochResult> history) {
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
        m.put("skipped_images", history.stream().mapToLong(EpochResult::skippedImages).sum());
        m.put("architecture", run.architecture.id());
        m.put("parameters", run.architecture.parameterCount());
        m.put("device", run.backend.name());
        m.put("knn_curve", history.stream().filter(r -> !Double.isNaN(r.knnAccuracy()))
                .map(r -> List.of(r.epoch(), r.knnAccuracy())).toList());
        m.put("config", run.config.asMap());
        return m;
    }

    @Override
    public void close() {
        try {
            metrics.close();
        } catch (IOException ignored) {
            // rows were flushed as written; nothing is lost
        }
    }
}
