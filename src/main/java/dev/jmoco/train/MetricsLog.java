package dev.jmoco.train;

import dev.jmoco.autograd.Loss;
import dev.jmoco.io.AtomicFiles;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code metrics.csv}: one row per logged step ({@code kind} "step") and one per epoch ("epoch"), columns
 * {@value #HEADER}. Step rows leave knn_acc empty; epoch rows hold the epoch's means, its last lr and the kNN
 * accuracy (empty when the monitor did not run). {@code step} is the global step. Rows are appended and
 * flushed as they come; on resume the rows written after the checkpoint's step (work that is done again) are
 * dropped.
 */
final class MetricsLog implements AutoCloseable {
    static final String FILE = "metrics.csv";
    static final String HEADER = "kind,epoch,step,loss,acc1,acc5,lr,images_per_s,knn_acc,wall_s";

    private final BufferedWriter out;

    private MetricsLog(BufferedWriter out) { this.out = out; }

    /**
     * Opens {@code dir/metrics.csv}: a new file with the header, or, when {@code previous} (a resumed run's
     * metrics.csv, possibly the same file) exists, its rows up to global step {@code globalStep} followed by new
     * rows. The kept epoch rows are added to {@code history} (for the curves).
     */
    static MetricsLog open(Path dir, Path previous, long globalStep, List<EpochResult> history) throws IOException {
        List<String> kept = new ArrayList<>();
        kept.add(HEADER);
        if (previous != null && Files.isRegularFile(previous)) {
            for (String line : Files.readAllLines(previous, StandardCharsets.UTF_8)) {
                String[] f = line.split(",", -1);
                if (line.equals(HEADER) || f.length != 10) continue;
                if (Long.parseLong(f[2]) > globalStep) continue;
                kept.add(line);
                if (f[0].equals("epoch")) history.add(parseEpoch(f));
            }
        }
        Path file = dir.resolve(FILE);
        byte[] text = (String.join("\n", kept) + "\n").getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(file, out -> out.write(text));
        return new MetricsLog(Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND));
    }

    void step(int epoch, long globalStep, Loss.Stats s, double lr, double imagesPerSecond, double wallSeconds)
            throws IOException {
        row("step", epoch, globalStep, s.loss(), s.acc1(), s.acc5(), lr, imagesPerSecond, Double.NaN, wallSeconds);
    }

    void epoch(EpochResult r) throws IOException {
        row("epoch", r.epoch(), r.globalStep(), r.meanLoss(), r.meanAcc1(), r.meanAcc5(), r.lr(),
                r.imagesPerSecond(), r.knnAccuracy(), r.wallSeconds());
    }

    private void row(String kind, int epoch, long step, double loss, double acc1, double acc5, double lr,
                     double imagesPerSecond, double knn, double wall) throws IOException {
        out.write(String.format(Locale.ROOT, "%s,%d,%d,%.6f,%.4f,%.4f,%.6g,%.1f,%s,%.3f%n", kind, epoch, step, loss,
                acc1, acc5, lr, imagesPerSecond, Double.isNaN(knn) ? "" : String.format(Locale.ROOT, "%.4f", knn),
                wall));
        out.flush();
    }

    private static EpochResult parseEpoch(String[] f) {
        return new EpochResult(Integer.parseInt(f[1]), Long.parseLong(f[2]), Double.parseDouble(f[3]),
                Double.parseDouble(f[4]), Double.parseDouble(f[5]), Double.parseDouble(f[6]),
                Double.parseDouble(f[7]), f[8].isEmpty() ? Double.NaN : Double.parseDouble(f[8]), Double.NaN,
                Double.NaN, Double.parseDouble(f[9]));
    }

    @Override public void close() throws IOException { out.close(); }
}
