package dev.jmoco.data;

import java.util.Arrays;

/**
 * The resampling weights of one image axis: for each output position, the first input index, the number of
 * taps and their weights. The filter is PIL's antialiased bilinear (a triangle whose support widens with the
 * downscale factor); when enlarging it is exactly bilinear interpolation with half-pixel centres and
 * clamped edges (torchvision's resize with antialias). Mutable and reused, so an augmenter configures it per
 * view without allocating once its arrays are large enough.
 */
final class ResizeAxis {
    private int outSize;
    private int taps;
    private int[] start = new int[0];
    private int[] count = new int[0];
    private float[] weights = new float[0];

    /**
     * Configures the mapping of input positions [inStart, inStart + inSize) onto {@code outSize} outputs;
     * {@code reversed} mirrors the output (a horizontal flip fused into the resize). {@code gain} multiplies
     * every weight (1/255 turns bytes into [0, 1] for free).
     */
    void configure(int inStart, int inSize, int outSize, boolean reversed, float gain) {
        configure(inStart, inSize, outSize, 0, outSize, reversed, gain);
    }

    /**
     * As above for outputs [first, first + outSize) of a resize of the input onto {@code fullOut} positions: a
     * resize followed by a crop (torchvision's Resize then CenterCrop), computing only the kept outputs.
     */
    void configure(int inStart, int inSize, int fullOut, int first, int outSize, boolean reversed, float gain) {
        if (inSize <= 0 || outSize <= 0 || fullOut <= 0)
            throw new IllegalArgumentException("sizes must be > 0: " + inSize + " -> " + fullOut);
        if (first < 0 || first + outSize > fullOut)
            throw new IllegalArgumentException("outputs [" + first + ", " + (first + outSize) + ") outside [0, "
                    + fullOut + ")");
        double scale = (double) inSize / fullOut;
        double filterScale = Math.max(scale, 1.0);
        double support = filterScale; // the triangle's radius is 1 input pixel, widened when shrinking
        this.outSize = outSize;
        this.taps = (int) Math.ceil(support) * 2 + 1;
        if (start.length < outSize) { start = new int[outSize]; count = new int[outSize]; }
        if (weights.length < outSize * taps) weights = new float[outSize * taps];
        for (int o = 0; o < outSize; o++) {
            double center = (first + o + 0.5) * scale;
            int min = Math.max((int) (center - support + 0.5), 0);
            int max = Math.min((int) (center + support + 0.5), inSize);
            int slot = reversed ? outSize - 1 - o : o;
            int base = slot * taps;
            double sum = 0;
            for (int k = 0; k < max - min; k++) {
                double w = Math.max(0, 1 - Math.abs((k + min - center + 0.5) / filterScale));
                weights[base + k] = (float) w;
                sum += w;
            }
            int n = max - min;
            for (int k = 0; k < n; k++) weights[base + k] = (float) (weights[base + k] / sum * gain);
            Arrays.fill(weights, base + n, base + taps, 0f);
            start[slot] = inStart + min;
            count[slot] = n;
        }
    }

    int outSize() { return outSize; }

    int start(int o) { return start[o]; }

    int count(int o) { return count[o]; }

    float weight(int o, int k) { return weights[o * taps + k]; }

    /** First input index any output reads. Outputs read increasing inputs unless reversed, so check both ends. */
    int minInput() { return Math.min(start[0], start[outSize - 1]); }

    /** One past the last input index any output reads. */
    int maxInput() {
        return Math.max(start[0] + count[0], start[outSize - 1] + count[outSize - 1]);
    }

    /**
     * Resizes the window that {@code rows} and {@code cols} describe of a CHW uint8 image into a CHW float
     * image, columns first. {@code tmp} needs channels x (rows' input span) x cols.outSize() floats.
     */
    static void resize(byte[] src, int srcOff, int channels, int srcH, int srcW, ResizeAxis rows, ResizeAxis cols,
                       float[] tmp, float[] dst, int dstOff) {
        int top = rows.minInput(), span = rows.maxInput() - top;
        int outH = rows.outSize, outW = cols.outSize;
        for (int c = 0; c < channels; c++) {
            int plane = srcOff + c * srcH * srcW;
            int tmpPlane = c * span * outW;
            for (int r = 0; r < span; r++) {
                int rowBase = plane + (top + r) * srcW;
                int t = tmpPlane + r * outW;
                for (int o = 0; o < outW; o++) {
                    int s = rowBase + cols.start[o], wb = o * cols.taps;
                    float acc = 0;
                    for (int k = 0, n = cols.count[o]; k < n; k++) acc += cols.weights[wb + k] * (src[s + k] & 0xFF);
                    tmp[t + o] = acc;
                }
            }
            int out = dstOff + c * outH * outW;
            for (int o = 0; o < outH; o++) {
                int d = out + o * outW, wb = o * rows.taps, first = tmpPlane + (rows.start[o] - top) * outW;
                float w0 = rows.weights[wb];
                for (int x = 0; x < outW; x++) dst[d + x] = w0 * tmp[first + x];
                for (int k = 1, n = rows.count[o]; k < n; k++) {
                    float w = rows.weights[wb + k];
                    int from = first + k * outW;
                    for (int x = 0; x < outW; x++) dst[d + x] += w * tmp[from + x];
                }
            }
        }
    }
}
