/**
 * Files on disk: {@link dev.jmoco.io.Safetensors} reads and writes the safetensors format, which holds
 * jmoco's checkpoints (weights, optimizer state, queue) and the PyTorch golden fixtures of the tests, so both
 * interchange with PyTorch without a converter. Writes are atomic (temporary file + move).
 */
package dev.jmoco.io;
