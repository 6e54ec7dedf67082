package dev.jmoco.nn;

import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tensor;

import java.util.random.RandomGenerator;

/**
 * A layer or a composition of layers. A module holds no tensors: it knows the full torchvision names of its
 * parameters, registers them in a {@link ParameterLayout}, and reads them from whichever
 * {@link ParameterArena} it is given, so one module tree serves the query and the key encoder (two arenas of
 * the same layout).
 *
 * <p>Call order: {@link #register} once per layout; build arenas from the layout; {@link #initialize} the
 * trainable arena (fresh arenas hold zeros); then {@link #forward} with an arena of that layout.
 */
public interface Module {
    /** Adds this module's parameters and state, in state_dict order. */
    void register(ParameterLayout layout);

    /** Writes this module's initial values into {@code arena}, drawing from {@code random} in register order. */
    void initialize(ParameterArena arena, RandomGenerator random);

    /** Runs the module on {@code x} with the parameters in {@code arena}. */
    Tensor forward(ParameterArena arena, Tensor x, Mode mode);
}
