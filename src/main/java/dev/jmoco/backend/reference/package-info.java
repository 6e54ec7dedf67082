/**
 * The specification of the op set: {@link dev.jmoco.backend.reference.ReferenceOps}, every op of
 * {@link dev.jmoco.backend.Backend} as a plain double-precision loop. Tests and the benchmarks' set-up checks
 * hold every backend, the fast CPU one ({@code backend/cpu}) included, against it; no training path calls it.
 */
package dev.jmoco.backend.reference;
