package dev.jmoco.data;

import java.nio.file.Path;

/**
 * Turns the bytes of one image file into pixels. Implementations read the size from the header and call
 * {@link ImageFiles#checkSize} before they allocate any pixel memory, and fail with a one-line
 * {@link DatasetFormatException} naming {@code file}; they are safe to call from several threads at once.
 */
interface ImageDecoder {
    /** @param file the file {@code content} was read from, for messages only */
    DecodedImage decode(Path file, byte[] content) throws DatasetFormatException;
}
