package dev.jmoco.cli;

import dev.jmoco.autograd.Loss;
import dev.jmoco.train.TrainListener;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * The training progress on a terminal: one line rewritten in place (carriage return) with the epoch, the step,
 * images per second, loss, acc@1 and the time left, redrawn at most every {@value #REDRAW_MS} ms; at each epoch
 * end a permanent line with the mean loss, the kNN accuracy and the epoch's time.
 * <p>
 * Between an epoch's last step and its summary line the trainer runs the kNN monitor (two encoding passes
 * over the data set) and writes the checkpoint: the bar says so instead of sitting still at the last step, and
 * once one epoch end has been timed the ETA counts the remaining ones at that time ("+ kNN" until then; a run
 * without the monitor only writes checkpoints there, and the bar names only that).
 */
final class ProgressBar implements TrainListener {
    private static final long REDRAW_MS = 200;
    private static final int WIDTH = 20;

    private final PrintWriter out;
    private final int epochs, batch;
    private final boolean knn;
    private final LongSupplier clock;
    private long lastDraw, lastStepAt;
    private int lastLength;
    /** The last epoch end's seconds (kNN monitor, checkpoint), NaN until one has been timed. */
    private double epochEndSeconds = Double.NaN;

    /** A bar for a run of {@code epochs} epochs of {@code batch} images per step, with or without the kNN monitor. */
    ProgressBar(PrintWriter out, int epochs, int batch, boolean knn) {
        this(out, epochs, batch, knn, System::currentTimeMillis);
    }

    /** The same on {@code clock} (milliseconds), for tests. */
    ProgressBar(PrintWriter out, int epochs, int batch, boolean knn, LongSupplier clock) {
        this.out = out;
        this.epochs = epochs;
        this.batch = batch;
        this.knn = knn;
        this.clock = clock;
    }

    @Override
    public void onStep(int epoch, int step, int stepsPerEpoch, Loss.Stats stats, double imagesPerSecond, double lr) {
        long now = clock.getAsLong();
        boolean last = step == stepsPerEpoch;
        if (last) lastStepAt = now;
        if (!last && now - lastDraw < REDRAW_MS) return;
        lastDraw = now;
        int filled = (int) ((long) WIDTH * step / stepsPerEpoch);
        long stepsLeft = (long) (epochs - epoch) * stepsPerEpoch + (stepsPerEpoch - step);
        double stepsPerSecond = imagesPerSecond / batch;
        double training = stepsPerSecond > 0 ? stepsLeft / stepsPerSecond : Double.NaN;
        int endsLeft = epochs - epoch + 1; // this epoch's end too: it starts after the last step
        String eta = Double.isNaN(epochEndSeconds) ? duration(training) + (knn ? " + kNN" : "")
                : duration(training + endsLeft * epochEndSeconds);
        String line = String.format(Locale.ROOT, "epoch %d/%d [%s%s] %d/%d  %.0f img/s  loss %.4f  acc@1 %.3f  "
                        + "lr %.4g  ETA %s%s", epoch, epochs, "#".repeat(filled), ".".repeat(WIDTH - filled), step,
                stepsPerEpoch, imagesPerSecond, stats.loss(), stats.acc1(), lr, eta,
                last ? (knn ? "  (epoch end: kNN monitor and checkpoint...)" : "  (epoch end: checkpoint...)") : "");
        draw(line);
    }

    @Override
    public void onEpoch(int epoch, double meanLoss, double knnAccuracy, double seconds) {
        if (lastStepAt > 0) epochEndSeconds = (clock.getAsLong() - lastStepAt) / 1000.0;
        draw("");
        out.printf(Locale.ROOT, "\repoch %d/%d  loss %.4f  knn %s  %.1f s%n", epoch, epochs, meanLoss,
                Double.isNaN(knnAccuracy) ? "-" : String.format(Locale.ROOT, "%.4f", knnAccuracy), seconds);
        out.flush();
        lastLength = 0;
    }

    /** Ends the line in progress, if any, so that a message that follows starts on a line of its own. */
    void endLine() {
        if (lastLength == 0) return;
        out.println();
        out.flush();
        lastLength = 0;
    }

    private void draw(String line) {
        // Pad with spaces so a shorter line fully covers the previous one.
        out.print("\r" + line + " ".repeat(Math.max(0, lastLength - line.length())));
        out.flush();
        lastLength = line.length();
    }

    /** h:mm:ss or m:ss. */
    static String duration(double seconds) {
        if (!Double.isFinite(seconds)) return "?";
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
