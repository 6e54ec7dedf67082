package dev.jmoco.train;

import dev.jmoco.io.AtomicFiles;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * {@code curves.png}: two panels side by side, the mean training loss and the kNN accuracy against the epoch,
 * drawn with java.awt into an image (no display needed) and written atomically. Points with a NaN value (epochs
 * without a kNN run) are skipped.
 */
final class CurvePlot {
    static final String FILE = "curves.png";
    private static final int PANEL_W = 480, H = 360, LEFT = 70, RIGHT = 20, TOP = 40, BOTTOM = 50;

    private CurvePlot() {}

    static void write(Path dir, List<EpochResult> history) throws IOException {
        BufferedImage image = new BufferedImage(2 * PANEL_W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, image.getWidth(), image.getHeight());
            panel(g, 0, history, EpochResult::meanLoss, "training loss (InfoNCE)", "loss", new Color(0x1f77b4));
            panel(g, PANEL_W, history, EpochResult::knnAccuracy, "kNN accuracy (test split)", "accuracy",
                    new Color(0xd62728));
        } finally {
            g.dispose();
        }
        AtomicFiles.write(dir.resolve(FILE), out -> {
            if (!ImageIO.write(image, "png", out)) throw new IOException("no PNG writer available");
        });
    }

    private static void panel(Graphics2D g, int x0, List<EpochResult> history, ToDoubleFunction<EpochResult> value,
                              String title, String yLabel, Color color) {
        int left = x0 + LEFT, right = x0 + PANEL_W - RIGHT, top = TOP, bottom = H - BOTTOM;
        double maxEpoch = Math.max(1, history.stream().mapToInt(EpochResult::epoch).max().orElse(1));
        double[] ys = history.stream().mapToDouble(value).filter(Double::isFinite).toArray();
        double lo = ys.length == 0 ? 0 : java.util.Arrays.stream(ys).min().getAsDouble();
        double hi = ys.length == 0 ? 1 : java.util.Arrays.stream(ys).max().getAsDouble();
        double pad = hi > lo ? 0.08 * (hi - lo) : Math.max(0.05 * Math.abs(hi), 0.01);
        lo -= pad;
        hi += pad;

        g.setColor(Color.BLACK);
        g.setStroke(new BasicStroke(1f));
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(title, left, top - 15);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        g.drawRect(left, top, right - left, bottom - top);
        for (int i = 0; i <= 4; i++) { // y ticks
            double v = lo + (hi - lo) * i / 4;
            int y = (int) Math.round(bottom - (bottom - top) * (double) i / 4);
            g.drawLine(left - 4, y, left, y);
            g.drawString(String.format(Locale.ROOT, "%.3f", v), left - 50, y + 4);
        }
        int ticks = (int) Math.min(maxEpoch, 10);
        for (int i = 0; i <= ticks; i++) { // x ticks at whole epochs
            int epoch = (int) Math.round(maxEpoch * i / ticks);
            int x = left + (int) Math.round((right - left) * epoch / maxEpoch);
            g.drawLine(x, bottom, x, bottom + 4);
            g.drawString(Integer.toString(epoch), x - 4, bottom + 16);
        }
        g.drawString("epoch", (left + right) / 2 - 15, bottom + 36);
        AffineTransform saved = g.getTransform();
        g.rotate(-Math.PI / 2);
        g.drawString(yLabel, -(top + bottom) / 2 - 20, x0 + 14);
        g.setTransform(saved);

        g.setColor(color);
        g.setStroke(new BasicStroke(2f));
        int px = -1, py = -1;
        for (EpochResult r : history) {
            double v = value.applyAsDouble(r);
            if (!Double.isFinite(v)) continue;
            int x = left + (int) Math.round((right - left) * r.epoch() / maxEpoch);
            int y = (int) Math.round(bottom - (bottom - top) * (v - lo) / (hi - lo));
            g.fillOval(x - 3, y - 3, 6, 6);
            if (px >= 0) g.drawLine(px, py, x, y);
            px = x;
            py = y;
        }
    }
}
