/**
 * Training data: in-memory {@link dev.jmoco.data.Dataset}s of uint8 images read from IDX (MNIST,
 * Fashion-MNIST), CIFAR-10/100 binary files or folders of PNG/JPEG images ({@link dev.jmoco.data.Datasets} is
 * the factory), MoCo's augmentations with torchvision's semantics ({@link dev.jmoco.data.AugmentationRecipe},
 * {@link dev.jmoco.data.Augmenter}), and a {@link dev.jmoco.data.Loader} that prepares batches of augmented
 * views on background threads ahead of the trainer.
 *
 * <p>Reproducibility: every random draw of an augmentation comes from a generator derived from (seed, epoch,
 * sample index, view) alone ({@link dev.jmoco.data.SampleRandom}), and each epoch's order from (seed, epoch),
 * so the batches never depend on thread count or scheduling and a resumed run sees the same batches.
 */
package dev.jmoco.data;
