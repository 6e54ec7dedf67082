package dev.jmoco.data;

import java.nio.file.Path;

/**
 * What a walk over a JPEG's markers tells before any decoding, the same for both decoders: the file is
 * refused when it ends before its end-of-image marker (truncated: libjpeg would fill the rest with grey and
 * only warn, javax.imageio silently; PIL refuses it, "image file is truncated") or has more than
 * {@value #MAX_SCANS} scans (a progressive JPEG can be built to take minutes to decode; libjpeg-turbo's own
 * limit, TJFLAG_LIMITSCANS, is the same). Bytes between markers and after the end are skipped, as libjpeg does.
 *
 * @param components    the colour components of the frame (1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK), 0 if none
 * @param adobeTransform the transform of an Adobe APP14 segment (0 none/CMYK, 1 YCbCr, 2 YCCK), -1 if none
 */
record JpegStructure(int scans, int components, int adobeTransform) {
    static final int MAX_SCANS = 500;

    static JpegStructure of(Path file, byte[] b) throws DatasetFormatException {
        int n = b.length, pos = 2, scans = 0, components = 0, adobe = -1;
        while (true) {
            while (pos < n && (b[pos] & 0xFF) != 0xFF) pos++; // extraneous bytes (libjpeg warns and skips them)
            while (pos + 1 < n && (b[pos + 1] & 0xFF) == 0xFF) pos++; // fill bytes before a marker
            if (pos + 1 >= n) throw truncated(file, scans);
            int marker = b[pos + 1] & 0xFF;
            if (marker == 0xD9) return new JpegStructure(scans, components, adobe);
            if (marker == 0x01 || marker >= 0xD0 && marker <= 0xD8) { pos += 2; continue; } // no length field
            if (pos + 3 >= n) throw truncated(file, scans);
            int length = (b[pos + 2] & 0xFF) << 8 | b[pos + 3] & 0xFF, body = pos + 4;
            if (length < 2) throw new DatasetFormatException(file, "corrupt JPEG: marker 0x" + Integer.toHexString(marker)
                    + " at byte " + pos + " has length " + length);
            if (body + length - 2 > n) throw truncated(file, scans);
            boolean frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (frame && length >= 8) components = b[body + 5] & 0xFF;
            if (marker == 0xEE && length >= 14 && b[body] == 'A' && b[body + 1] == 'd' && b[body + 2] == 'o'
                    && b[body + 3] == 'b' && b[body + 4] == 'e') adobe = b[body + 11] & 0xFF;
            pos = body + length - 2;
            if (marker != 0xDA) continue;
            if (++scans > MAX_SCANS) throw new DatasetFormatException(file, "JPEG with more than " + MAX_SCANS
                    + " scans: refused (it could take minutes to decode)");
            // entropy-coded data runs to the next marker: 0xFF followed by neither a stuffed 0 nor a restart
            while (pos + 1 < n && !((b[pos] & 0xFF) == 0xFF && b[pos + 1] != 0
                    && ((b[pos + 1] & 0xFF) < 0xD0 || (b[pos + 1] & 0xFF) > 0xD7))) pos++;
        }
    }

    private static DatasetFormatException truncated(Path file, int scans) {
        return new DatasetFormatException(file, "truncated JPEG: the file ends "
                + (scans == 0 ? "inside its headers" : "in its image data") + ", before the end-of-image marker");
    }
}
