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
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * {@code metrics.csv}: one row per logged step ({@code kind} "step") and one per epoch ("epoch"), columns
 * {@value #HEADER}. Step rows leave knn_acc empty; epoch rows hold the epoch's means, its last lr and the kNN
 * accuracy (empty when the monitor did not run). {@code step} is the global step. Rows are appended and
 * flushed as they come. The checkpoint is the record of what is done: on resume the file is rebuilt from
 * the step rows up to the checkpoint's step and the checkpoint's epoch history, so rows of work that is done
 * again are dropped, a row lost to a kill between the checkpoint and its row comes back, and a row torn by a
 * kill is dropped.
 */
final class MetricsLog implements AutoCloseable {
    static final String FILE = "metrics.csv";
    static final String HEADER = "kind,epoch,step,loss,acc1,acc5,lr,images_per_s,knn_acc,wall_s";
    private static final int COLUMNS = 10;

    private final BufferedWriter out;

    private MetricsLog(BufferedWriter out) { this.out = out; }

    /**
     * Opens {@code dir/metrics.csv} anew: the header; the step rows of {@code previous} (a resumed run's
     * metrics.csv, possibly the same file; null or missing for a new run) up to global step {@code globalStep}
     * that parse; the epoch rows of {@code history}, placed by their step. When {@code history} is empty but
     * the checkpoint has epochs done (a checkpoint older than its epoch history), the epoch rows of
     * {@code previous} up to {@code globalStep} are kept and added to {@code history}.
     */
    static MetricsLog open(Path dir, Path previous, long globalStep, List<EpochResult> history) throws IOException {
        List<Row> rows = new ArrayList<>();
        boolean fromFile = history.isEmpty();
        if (previous != null && Files.isRegularFile(previous)) {
            String old = Files.readString(previous, StandardCharsets.ISO_8859_1); // any bytes: a torn row may not be UTF-8
            List<String> lines = new ArrayList<>(old.lines().toList());
            if (!old.isEmpty() && !old.endsWith("\n")) lines.removeLast(); // a row cut short by a kill
            for (String line : lines) {
                Row r = Row.parse(line);
                if (r == null || r.step > globalStep) continue;  // header, a torn row, or work done again
                if (!r.epoch) rows.add(r);
                else if (fromFile) {
                    rows.add(r);
                    history.add(parseEpoch(line.split(",", -1)));
                }
            }
        }
        if (!fromFile)
            for (EpochResult e : history) rows.add(new Row(e.globalStep(), true, epochLine(e)));
        rows.sort(Comparator.comparingLong(Row::step).thenComparing(Row::epoch));
        StringBuilder text = new StringBuilder(HEADER).append('\n');
        for (Row r : rows) text.append(r.line).append('\n');
        Path file = dir.resolve(FILE);
        byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(file, o -> o.write(bytes));
        return new MetricsLog(Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND));
    }

    /** A row of the file: its global step, whether it is an epoch row, its text. */
    private record Row(long step, boolean epoch, String line) {
        /** The row of {@code line}, or null for the header and for anything that is not a whole row. */
        static Row parse(String line) {
            String[] f = line.split(",", -1);
            if (f.length != COLUMNS || !(f[0].equals("step") || f[0].equals("epoch"))) return null;
            try {
                Integer.parseInt(f[1]);
                long step = Long.parseLong(f[2]);
                for (int i = 3; i < COLUMNS; i++) if (!(i == 8 && f[i].isEmpty())) Double.parseDouble(f[i]);
                return new Row(step, f[0].equals("epoch"), line);
            } catch (NumberFormatException torn) {
                return null;
            }
        }
    }

    void step(int epoch, long globalStep, Loss.Stats s, double lr, double imagesPerSecond, double wallSeconds)
            throws IOException {
        write(line("step", epoch, globalStep, s.loss(), s.acc1(), s.acc5(), lr, imagesPerSecond, Double.NaN,
                wallSeconds));
    }

    void epoch(EpochResult r) throws IOException { write(epochLine(r)); }

    private void write(String line) throws IOException {
        out.write(line);
        out.newLine();
        out.flush();
    }

    private static String epochLine(EpochResult r) {
        return line("epoch", r.epoch(), r.globalStep(), r.meanLoss(), r.meanAcc1(), r.meanAcc5(), r.lr(),
                r.imagesPerSecond(), r.knnAccuracy(), r.wallSeconds());
    }

    private static String line(String kind, int epoch, long step, double loss, double acc1, double acc5, double lr,
                               double imagesPerSecond, double knn, double wall) {
        return String.format(Locale.ROOT, "%s,%d,%d,%.6f,%.4f,%.4f,%.6g,%.1f,%s,%.3f", kind, epoch, step, loss,
                acc1, acc5, lr, imagesPerSecond, Double.isNaN(knn) ? "" : String.format(Locale.ROOT, "%.4f", knn),
                wall);
    }

    private static EpochResult parseEpoch(String[] f) {
        return new EpochResult(Integer.parseInt(f[1]), Long.parseLong(f[2]), Double.parseDouble(f[3]),
                Double.parseDouble(f[4]), Double.parseDouble(f[5]), Double.parseDouble(f[6]),
                Double.parseDouble(f[7]), f[8].isEmpty() ? Double.NaN : Double.parseDouble(f[8]), Double.NaN,
                Double.NaN, Double.parseDouble(f[9]), 0);
    }

    @Override public void close() throws IOException { out.close(); }
}
