package dev.jmoco.nn;

import dev.jmoco.autograd.ParameterArena;

import java.util.random.RandomGenerator;

/** A module without parameters or state (activations, pooling): registers and initialises nothing. */
interface StatelessModule extends Module {
    @Override
    default void register(ParameterLayout layout) {}

    @Override
    default void initialize(ParameterArena arena, RandomGenerator random) {}
}
