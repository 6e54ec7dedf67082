/**
 * Encoders as module trees over the autograd core, with torchvision's parameter names.
 *
 * <ul>
 *   <li>{@link dev.jmoco.nn.Module}: a layer that registers its parameters (and batch-norm running statistics
 *       as state) in a {@link dev.jmoco.nn.ParameterLayout}, initialises them, and runs on whichever
 *       {@link dev.jmoco.autograd.ParameterArena} it is given; layers: {@link dev.jmoco.nn.Conv2d},
 *       {@link dev.jmoco.nn.BatchNorm2d}, {@link dev.jmoco.nn.Linear}, {@link dev.jmoco.nn.Relu},
 *       {@link dev.jmoco.nn.MaxPool2d}, {@link dev.jmoco.nn.GlobalAvgPool}, {@link dev.jmoco.nn.Sequential},
 *       {@link dev.jmoco.nn.ResidualBlock} (BasicBlock, Bottleneck).</li>
 *   <li>{@link dev.jmoco.nn.Encoders#create} builds an {@link dev.jmoco.nn.Architecture} (small CNN, ResNet-18,
 *       ResNet-50; CIFAR or ImageNet stem; v1, v2 or bn head); {@link dev.jmoco.nn.Architecture#bind} gives the
 *       {@link dev.jmoco.nn.Encoder} on one arena, so f_q and f_k share one tree.</li>
 *   <li>{@link dev.jmoco.nn.Mode}: training (per-group batch statistics, running statistics updated) or eval.</li>
 * </ul>
 *
 * <pre>{@code
 * Architecture arch = Encoders.create("resnet18", Stem.CIFAR, 3, HeadKind.V2, 128);
 * try (ParameterArena q = arch.arenaLayout().build(backend, true);
 *      ParameterArena k = q.newLike(false)) {
 *     arch.initialize(q, seed);
 *     k.copyFrom(q);
 *     Encoder fq = arch.bind(q), fk = arch.bind(k);
 *     try (Tape tape = Tape.record()) {
 *         Tensor qv = Ops.l2NormalizeRows(fq.forward(xq, Mode.TRAIN));
 *         Tensor kv = Ops.l2NormalizeRows(fk.forward(xkShuffled, Mode.train(bnSplits)));
 *         ...
 *     }
 * }
 * }</pre>
 */
package dev.jmoco.nn;
