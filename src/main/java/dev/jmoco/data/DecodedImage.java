package dev.jmoco.data;

/**
 * One decoded image: uint8 pixels in rows (height x width x channels), with 1 (grey) or 3 (RGB) channels, as
 * PIL's mode "L" or "RGB". Alpha is never kept: torchvision's loader drops it ({@code convert('RGB')}).
 */
record DecodedImage(int width, int height, int channels, byte[] pixels) {
    DecodedImage {
        if (channels != 1 && channels != 3) throw new IllegalArgumentException("channels must be 1 or 3: " + channels);
        if (pixels.length != (long) width * height * channels)
            throw new IllegalArgumentException(pixels.length + " bytes for " + width + "x" + height + "x" + channels);
    }

    /**
     * RGB from CMYK as a JPEG stores it (Adobe's convention, inverted: 255 means no ink), with PIL's formula
     * (Convert.c cmyk2rgb: each of R, G, B = (255 - k) - c (255 - k) / 255, rounded its way), so a CMYK JPEG
     * gives the pixels torchvision's loader trains on.
     */
    static DecodedImage fromInvertedCmyk(int width, int height, byte[] cmyk) {
        byte[] rgb = new byte[width * height * 3];
        for (int p = 0, q = 0; q < rgb.length; p += 4, q += 3) {
            int nk = cmyk[p + 3] & 0xFF; // 255 - k
            for (int c = 0; c < 3; c++) rgb[q + c] = (byte) (nk - mulDiv255(255 - (cmyk[p + c] & 0xFF), nk));
        }
        return new DecodedImage(width, height, 3, rgb);
    }

    /** PIL's MULDIV255: a * b / 255 rounded, in integers. */
    private static int mulDiv255(int a, int b) {
        int t = a * b + 128;
        return ((t >> 8) + t) >> 8;
    }

    /**
     * The image as uint8 planes (channels x height x width) with {@code channels} channels: grey repeated for
     * 3, or RGB reduced to luma (0.299 R + 0.587 G + 0.114 B, rounded) for 1.
     */
    byte[] planes(int channels) {
        int plane = width * height;
        byte[] out = new byte[channels * plane];
        for (int p = 0; p < plane; p++) {
            if (this.channels == 1) {
                for (int c = 0; c < channels; c++) out[c * plane + p] = pixels[p];
                continue;
            }
            int r = pixels[3 * p] & 0xFF, g = pixels[3 * p + 1] & 0xFF, b = pixels[3 * p + 2] & 0xFF;
            if (channels == 3) {
                out[p] = (byte) r;
                out[plane + p] = (byte) g;
                out[2 * plane + p] = (byte) b;
            } else {
                out[p] = (byte) Math.round(ColorOps.RED * r + ColorOps.GREEN * g + ColorOps.BLUE * b);
            }
        }
        return out;
    }
}
