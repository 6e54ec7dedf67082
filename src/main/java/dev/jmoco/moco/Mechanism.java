package dev.jmoco.moco;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The three dictionary mechanisms compared in the MoCo paper (Fig. 2), by their command-line names. */
public enum Mechanism {
    /** A queue of keys from a momentum-updated key encoder ({@link MocoStep}). */
    MOCO("moco"),
    /** Keys from the query encoder itself, with gradient; the batch is the dictionary ({@link EndToEndStep}). */
    END_TO_END("end-to-end"),
    /** One stored feature per image, negatives sampled from it (Wu et al. 2018; {@link MemoryBankStep}). */
    MEMORY_BANK("memory-bank");

    private final String cliName;

    Mechanism(String cliName) { this.cliName = cliName; }

    /** The name used by {@code --mechanism}. */
    public String cliName() { return cliName; }

    /** The mechanism called {@code name} ("moco", "end-to-end", "memory-bank"). */
    public static Mechanism parse(String name) {
        for (Mechanism m : values()) if (m.cliName.equals(name)) return m;
        throw new IllegalArgumentException("unknown mechanism '" + dev.jmoco.io.Json.visible(name) + "' (have "
                + Arrays.stream(values()).map(Mechanism::cliName).collect(Collectors.joining(", ")) + ")");
    }
}
