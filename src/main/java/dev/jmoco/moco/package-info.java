/**
 * The MoCo training step and the paper's three dictionary mechanisms (He et al. 2020, Fig. 2), written once
 * against {@link dev.jmoco.autograd.Ops} so they run unchanged on every backend.
 *
 * <ul>
 *   <li>{@link dev.jmoco.moco.MocoEncoder}: what a step needs from an encoder (an architecture applied to a
 *       {@link dev.jmoco.autograd.ParameterArena}); the nn encoders implement it with a lambda.</li>
 *   <li>{@link dev.jmoco.moco.KeyQueue}: the dictionary, a ring buffer of K keys with its pointer.</li>
 *   <li>{@link dev.jmoco.moco.MemoryBank}: one stored feature per dataset image (Wu et al. 2018).</li>
 *   <li>{@link dev.jmoco.moco.ContrastiveStep}: one training step; {@link dev.jmoco.moco.MocoStep},
 *       {@link dev.jmoco.moco.EndToEndStep} and {@link dev.jmoco.moco.MemoryBankStep} implement the three
 *       {@link dev.jmoco.moco.Mechanism}s, configured by {@link dev.jmoco.moco.MocoConfig}.</li>
 *   <li>{@link dev.jmoco.moco.StepRandom}: a step's random choices (shuffle-BN permutations, memory-bank
 *       negatives), derived from a seed and the step number so that a resumed run repeats them exactly.</li>
 * </ul>
 *
 * Every step keeps its state on the backend; per step it moves only host-generated index arrays to the device
 * and the three statistics floats back. Once warm it creates no new backend buffers (all come from the pool).
 */
package dev.jmoco.moco;
