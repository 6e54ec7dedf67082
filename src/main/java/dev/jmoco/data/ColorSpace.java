package dev.jmoco.data;

/**
 * What the loader's views hold: the data set's own channels normalised with its statistics (RGB), or each
 * augmented colour image converted to CIE Lab ({@link LabColor}) and normalised with CMC's Lab statistics
 * ({@link LabColor#NORMALIZATION}), the input of Contrastive Multiview Coding's L and ab encoders.
 */
public enum ColorSpace {
    RGB, LAB;

    /** Refuses LAB for images that are not three-channel colour, naming the data set. */
    public void requireFits(Dataset data) {
        if (this == LAB && data.channels() != 3)
            throw new IllegalArgumentException("the lab views need colour images: " + data.name() + " has "
                    + data.channels() + (data.channels() == 1 ? " channel (grayscale), so it has no ab view"
                    : " channels, Lab is defined for 3 (RGB)"));
    }
}
