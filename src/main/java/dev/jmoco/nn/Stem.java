package dev.jmoco.nn;

/** The first layers of a ResNet, chosen by image size. */
public enum Stem {
    /** 3x3 conv, stride 1, no max pool: keeps 32x32 images (CIFAR) at full resolution into layer1. */
    CIFAR,
    /** torchvision's: 7x7 conv stride 2, batch norm, ReLU, 3x3 max pool stride 2 (ImageNet-sized images). */
    IMAGENET;

    /** The stem for images of this size when none is asked for: CIFAR's up to 64 px on the longer side. */
    public static Stem forImages(int height, int width) { return Math.max(height, width) <= 64 ? CIFAR : IMAGENET; }
}
