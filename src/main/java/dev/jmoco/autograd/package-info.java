/**
 * Tensors with reverse-mode automatic differentiation over a {@link dev.jmoco.backend.Backend}, small enough
 * to read in one sitting (after micrograd and early tinygrad).
 *
 * <ul>
 *   <li>{@link dev.jmoco.autograd.Tensor}: shape, data buffer, lazily allocated gradient; views share both.</li>
 *   <li>{@link dev.jmoco.autograd.Tape}: a scope that owns what ops create and records them for
 *       {@code backward}, which walks the record in reverse. Backend backward ops add into gradients, so a
 *       tensor used twice (a skip connection) accumulates without extra work.</li>
 *   <li>{@link dev.jmoco.autograd.Ops}: the ops as static functions; each is a package-private class holding
 *       its forward, its saved context and its backward. The fused losses ({@code infoNce},
 *       {@code softmaxCrossEntropy}) compute their input gradients in forward and are the roots of backward;
 *       {@link dev.jmoco.autograd.Loss#read} throws {@link dev.jmoco.autograd.NonFiniteLossException} on NaN.</li>
 *   <li>{@link dev.jmoco.autograd.ParameterArena}: a model's parameters in one buffer and gradients in another,
 *       laid out so that {@link dev.jmoco.optim.Sgd} is two launches and the EMA one.</li>
 * </ul>
 */
package dev.jmoco.autograd;
