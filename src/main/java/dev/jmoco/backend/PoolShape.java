package dev.jmoco.backend;

/** Geometry of a max pool over NCHW: square window, stride and padding (padding acts as -infinity). */
public record PoolShape(int n, int c, int h, int w, int window, int stride, int pad) {

    public PoolShape {
        Checks.positive("maxpool", "n", n, "c", c, "h", h, "w", w, "window", window, "stride", stride);
        if (pad < 0 || pad > window / 2)
            throw new IllegalArgumentException("maxpool: pad must be in [0, window/2], got " + pad);
        if (h + 2 * pad < window || w + 2 * pad < window)
            throw new IllegalArgumentException("maxpool: window " + window + " larger than padded input");
    }

    public int p() { return (h + 2 * pad - window) / stride + 1; }
    public int q() { return (w + 2 * pad - window) / stride + 1; }
    public long inputSize() { return (long) n * c * h * w; }
    public long outputSize() { return (long) n * c * p() * q(); }
}
