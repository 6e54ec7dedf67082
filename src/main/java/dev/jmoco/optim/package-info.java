/**
 * Learning-rate schedules and the linear scaling rule of the MoCo recipes.
 *
 * <p>A {@link dev.jmoco.optim.LearningRateSchedule} is a small immutable object answering
 * {@code lr(epoch, stepInEpoch, stepsPerEpoch)}; the trainer asks it before each SGD step and passes the answer
 * to {@link dev.jmoco.optim.Sgd#setLearningRate}. The schedules reproduce the reference
 * {@code adjust_learning_rate} of facebookresearch/moco's main_moco.py exactly (cosine per epoch for v2, x0.1
 * at milestones for v1) and add per-step cosine and a linear warm-up.
 */
package dev.jmoco.optim;
