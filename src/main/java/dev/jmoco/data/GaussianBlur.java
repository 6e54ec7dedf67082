package dev.jmoco.data;

/**
 * torchvision's GaussianBlur: a separable normalised Gaussian kernel of odd size, the same sigma on both
 * axes, reflect padding (the edge pixel is not repeated). Holds its kernel and a row buffer, so one
 * instance per thread blurs without allocating.
 */
final class GaussianBlur {
    private float[] kernel = new float[0];
    private int size;
    /** Taps [lo, hi] of the kernel that can change a float sum (see setKernel); the rest are skipped. */
    private int lo, hi;
    private float[] tmp = new float[0];
    private float[] paddedRow = new float[0];

    /** MoCo v2 / SimCLR's kernel size for an image side: about 10% of it, odd, at least 3. */
    static int kernelSize(int side) {
        int k = side / 10;
        if (k % 2 == 0) k++;
        return Math.max(k, 3);
    }

    /**
     * Sets the kernel: exp(-x^2 / (2 sigma^2)) at x = -(k-1)/2 .. (k-1)/2, divided by its sum.
     */
    void setKernel(int size, double sigma) {
        if (size <= 0 || size % 2 == 0) throw new IllegalArgumentException("kernel size must be odd and > 0: " + size);
        if (!(sigma > 0)) throw new IllegalArgumentException("sigma must be > 0: " + sigma);
        if (kernel.length < size) kernel = new float[size];
        this.size = size;
        int half = size / 2;
        double sum = 0;
        for (int i = 0; i < size; i++) {
            double x = (i - half) / sigma;
            sum += Math.exp(-0.5 * x * x);
        }
        for (int i = 0; i < size; i++) {
            double x = (i - half) / sigma;
            kernel[i] = (float) (Math.exp(-0.5 * x * x) / sum);
        }
        // A small sigma in a kernel sized for the image (23 taps at 224 px, sigma from 0.1) leaves most taps
        // below 2^-24 of the centre's weight: all of them together move an output by less than its rounding,
        // so they are skipped (half the blur's time on MoCo v2's sigma range).
        lo = 0;
        while (lo < half && kernel[lo] < kernel[half] * 0x1p-24f) lo++;
        hi = size - 1 - lo;
    }

    /** A copy of the current kernel. */
    float[] kernel() { return java.util.Arrays.copyOf(kernel, size); }

    /** Blurs {@code channels} planes of height x width at {@code off} in place. */
    void apply(float[] img, int off, int channels, int height, int width) {
        int plane = height * width, half = size / 2;
        if (tmp.length < plane) tmp = new float[plane];
        if (paddedRow.length < width + 2 * half) paddedRow = new float[width + 2 * half];
        float[] pad = paddedRow;
        for (int c = 0; c < channels; c++) {
            int base = off + c * plane;
            for (int y = 0; y < height; y++) {
                int row = base + y * width;
                // pad once per row so the convolution's inner loop has no index arithmetic
                System.arraycopy(img, row, pad, half, width);
                for (int k = 0; k < half; k++) {
                    pad[k] = img[row + reflect(k - half, width)];
                    pad[half + width + k] = img[row + reflect(width + k, width)];
                }
                // tap by tap over the row: the loop over x vectorises, a dot product over the taps would not
                int t = y * width;
                float w0 = kernel[lo];
                for (int x = 0; x < width; x++) tmp[t + x] = w0 * pad[x + lo];
                for (int k = lo + 1; k <= hi; k++) {
                    float w = kernel[k];
                    for (int x = 0; x < width; x++) tmp[t + x] += w * pad[x + k];
                }
            }
            for (int y = 0; y < height; y++) {
                int out = base + y * width;
                int first = reflect(y + lo - half, height) * width;
                float w0 = kernel[lo];
                for (int x = 0; x < width; x++) img[out + x] = w0 * tmp[first + x];
                for (int k = lo + 1; k <= hi; k++) {
                    float w = kernel[k];
                    int from = reflect(y + k - half, height) * width;
                    for (int x = 0; x < width; x++) img[out + x] += w * tmp[from + x];
                }
            }
        }
    }

    /** Reflect padding (-1 maps to 1, n to n - 2), repeated for kernels wider than the image. */
    static int reflect(int i, int n) {
        if (n == 1) return 0;
        int period = 2 * (n - 1);
        i = Math.floorMod(i, period);
        return i < n ? i : period - i;
    }
}
