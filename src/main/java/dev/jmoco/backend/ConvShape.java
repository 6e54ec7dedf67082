package dev.jmoco.backend;

/**
 * Geometry of a 2-D convolution in NCHW layout: input [n, c, h, w], filter [k, c, r, s], output [n, k, p, q]
 * with p = (h + 2 pad - r) / stride + 1 and q likewise. Square stride and padding, no dilation, no groups.
 */
public record ConvShape(int n, int c, int h, int w, int k, int r, int s, int stride, int pad) {

    public ConvShape {
        Checks.positive("conv2d", "n", n, "c", c, "h", h, "w", w, "k", k, "r", r, "s", s, "stride", stride);
        if (pad < 0) throw new IllegalArgumentException("conv2d: pad must be >= 0, got " + pad);
        if (h + 2 * pad < r || w + 2 * pad < s)
            throw new IllegalArgumentException("conv2d: filter " + r + "x" + s + " larger than padded input "
                    + (h + 2 * pad) + "x" + (w + 2 * pad));
    }

    public int p() { return (h + 2 * pad - r) / stride + 1; }
    public int q() { return (w + 2 * pad - s) / stride + 1; }
    public long inputSize() { return (long) n * c * h * w; }
    public long filterSize() { return (long) k * c * r * s; }
    public long outputSize() { return (long) n * k * p() * q(); }
    /** Multiply-adds x 2 of the forward pass (each backward pass costs the same). */
    public double flops() { return 2.0 * n * k * p() * q() * c * r * s; }
}
