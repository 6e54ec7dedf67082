package dev.jmoco.train;

import dev.jmoco.io.Safetensors;
import dev.jmoco.testing.FuzzCase;
import dev.jmoco.testing.Mutator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The metadata of a real checkpoint, mutated field by field (seeded): {@link Checkpoint.Saved#parse}, what resume
 * reads, either accepts it or refuses it in one line naming the file. Values: non-numbers, out-of-range
 * numbers, NaN and infinities, empty strings, broken and deep JSON for the history and classes, line
 * breaks; fields removed or duplicated under other names.
 */
class CheckpointMetadataFuzzTest {
    private static final int CASES = 400;
    private static final String[] VALUES = {"", "abc", "-1", "0", "1", "2147483648", "-9223372036854775809",
            "99999999999999999999", "1e999", "NaN", "Infinity", "-0", "0x10", " 3 ", "3\n4", "[", "[]", "[{}]",
            "{\"a\":1}", "[\"x\", 1]", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]",
            "true", "cosine", "v2", "small", "fashion-mnist", "/nowhere", "null"};

    @TempDir static Path dir;
    static Path file;
    static Map<String, String> metadata;

    @BeforeAll
    static void train() throws IOException {
        try (Trainer t = Trainer.start(TrainerTest.tiny(dir).epochs(2).build())) {
            t.trainEpoch();
        }
        file = dir.resolve(Checkpoint.FILE);
        metadata = Safetensors.readMetadata(file);
    }

    @Test
    void theRealMetadataParses() {
        Checkpoint.Saved s = Checkpoint.Saved.parse(file, metadata, dir);
        assertEquals(1, s.epoch());
        assertEquals(8, s.globalStep());
        assertEquals(1, s.history().size());
    }

    @Test
    void mutatedFieldsAreReadOrRefusedOnOneLineNamingTheFile() {
        SplittableRandom random = new SplittableRandom(0x5EED_C4E7L);
        Mutator text = new Mutator(0x5EED_C4E8L);
        List<String> keys = new ArrayList<>(metadata.keySet());
        FuzzCase.Tally tally = new FuzzCase.Tally();
        for (int i = 0; i < CASES; i++) {
            Map<String, String> m = new LinkedHashMap<>(metadata);
            String key = keys.get(random.nextInt(keys.size()));
            String how;
            switch (random.nextInt(4)) {
                case 0 -> { m.remove(key); how = "removed " + key; }
                case 1 -> {
                    String v = text.mutateJson(metadata.get(key)).text();
                    m.put(key, v);
                    how = key + " mutated";
                }
                default -> {
                    String v = VALUES[random.nextInt(VALUES.length)];
                    m.put(key, v);
                    how = key + " = " + new String(v.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
                }
            }
            FuzzCase.run("case " + i + " (" + how + ")", () -> Checkpoint.Saved.parse(file, m, dir),
                    IllegalArgumentException.class, file.toString(), s -> assertTrue(s.epoch() >= 0
                            && s.globalStep() >= 0 && s.progress().steps() >= 0), tally);
        }
        assertTrue(tally.accepted() > 0 && tally.refused() > CASES / 2, tally.toString());
    }
}
