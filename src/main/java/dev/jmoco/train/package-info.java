/**
 * Training runs: {@link dev.jmoco.train.TrainConfig} (every setting, validated), {@link dev.jmoco.train.Trainer}
 * (builds the run, trains step by step or epoch by epoch, reports to a {@link dev.jmoco.train.TrainListener},
 * runs the kNN monitor, writes checkpoints, metrics.csv, summary.json and curves.png atomically, resumes
 * exactly), and the pieces the {@code eval} and {@code embed} commands share with it:
 * {@link dev.jmoco.train.EncoderFiles} (an encoder from a checkpoint or a torchvision state dict),
 * {@link dev.jmoco.train.Features} (eval-mode features) and {@link dev.jmoco.train.CheckpointEvaluation}.
 */
package dev.jmoco.train;
