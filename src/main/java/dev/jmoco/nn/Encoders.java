package dev.jmoco.nn;

import java.util.Locale;

/** The encoders jmoco trains, by name: "small" (28x28 images), "resnet18" and "resnet50". */
public final class Encoders {
    private Encoders() {}

    /** {@link #create(String, Stem, int, HeadKind, int, DecayPolicy)} exempting batch norm and biases from decay. */
    public static Architecture create(String arch, Stem stem, int inChannels, HeadKind head, int dim) {
        return create(arch, stem, inChannels, head, dim, DecayPolicy.EXEMPT_NORM_AND_BIAS);
    }

    /**
     * An encoder architecture: a backbone ("small" ignores {@code stem}; the ResNets use it) on images of
     * {@code inChannels} channels, followed by a v1, v2 or bn head of output width {@code dim}.
     *
     * @throws IllegalArgumentException for an unknown architecture or a non-positive channel count or dim
     */
    public static Architecture create(String arch, Stem stem, int inChannels, HeadKind head, int dim,
                                      DecayPolicy decay) {
        if (inChannels < 1 || dim < 1)
            throw new IllegalArgumentException("encoder: inChannels " + inChannels + " and dim " + dim
                    + " must be >= 1");
        Backbones.Backbone b = switch (arch) {
            case "small" -> Backbones.small(inChannels);
            case "resnet18" -> Backbones.resnet18(stem, inChannels);
            case "resnet50" -> Backbones.resnet50(stem, inChannels);
            default -> throw new IllegalArgumentException("encoder: unknown architecture '" + arch
                    + "' (small, resnet18, resnet50)");
        };
        String stemId = arch.equals("small") ? "" : "-" + stem.name().toLowerCase(Locale.ROOT);
        String id = arch + stemId + "-c" + inChannels + "-" + head.name().toLowerCase(Locale.ROOT) + "-d" + dim;
        return new Architecture(id, b.module(), head.build(b.featureDim(), dim), inChannels, b.featureDim(), dim,
                decay);
    }
}
