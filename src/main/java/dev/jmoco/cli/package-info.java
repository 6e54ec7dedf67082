/**
 * The {@code jmoco} command line (picocli): a thin layer over the engine's Java API. Every command has
 * {@code --help}; errors print one line and exit non-zero ({@code --verbose} adds the stack trace).
 */
package dev.jmoco.cli;
